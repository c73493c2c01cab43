"""Raw sqlite3 from the standard library: the floor an ORM on SQLite builds on.

Statements are plain SQL strings with ``?`` parameters: the sqlite3 module
keeps them prepared in its statement cache, so each one is parsed once. Reads
return the driver's tuples as they are (``created_at`` as ISO text, ``tags`` as
JSON text): no objects are built.

On files both adapters use ``journal_mode=WAL`` with ``synchronous=FULL``,
SQLite's fastest mode in which a commit survives a power cut (and pytuck's
sqlite engine's settings). :class:`SQLite3System` runs the workload,
:class:`SQLite3Store` the file suite.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.file_store import FileStore
from benchmarks.harness import System

__all__ = ["SQLite3Store", "SQLite3System"]

_SCHEMA = [
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, "
    "age INTEGER NOT NULL, score REAL NOT NULL, active INTEGER NOT NULL, city TEXT NOT NULL, "
    "created_at TEXT NOT NULL, tags TEXT NOT NULL)",
    "CREATE INDEX ix_users_name ON users (name)",
    "CREATE INDEX ix_users_age ON users (age)",
]
_COLUMNS = "id, name, email, age, score, active, city, created_at, tags"
_INSERT = "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_GET = f"SELECT {_COLUMNS} FROM users WHERE id = ?"
_BY_NAME = f"SELECT {_COLUMNS} FROM users WHERE name = ?"
_BY_CITY = f"SELECT {_COLUMNS} FROM users WHERE city = ?"
_BETWEEN = f"SELECT {_COLUMNS} FROM users WHERE age BETWEEN ? AND ?"
_OR = f"SELECT {_COLUMNS} FROM users WHERE age < ? OR name = ?"
_GROUP = "SELECT city, count(*) FROM users GROUP BY city"
_UPDATE = "UPDATE users SET age = ?, score = ? WHERE id = ?"
_DELETE = "DELETE FROM users WHERE id = ?"


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    """A row as the driver tuple: ISO ``created_at``, JSON ``tags``."""
    return (row["id"], row["name"], row["email"], row["age"], row["score"], row["active"], row["city"],
            row["created_at"].isoformat(" "), json.dumps(row["tags"]))


class SQLite3System(System):
    """``executemany`` bulk insert, one cached statement per operation, ``commit()`` per write.

    Args:
        storage: ``"memory"`` (``:memory:``) or ``"file"`` (a database file
            in ``folder``, ``journal_mode=WAL``, ``synchronous=FULL``: durable commits).
        folder: a temporary folder for the file.
    """

    def __init__(self, storage: str, folder: Path, dsn: str | None = None) -> None:
        self.storage_class = storage
        self.path = ":memory:" if storage == "memory" else str(folder / "raw.sqlite")
        self.label = "sqlite3"
        self.notes = (
            f"raw sqlite3 ({'in memory' if storage == 'memory' else 'file, WAL, synchronous=FULL'}), cached prepared "
            "statements, rows returned as driver tuples (no objects, no datetime/JSON decoding); "
            "bulk insert via executemany in one transaction; indexes on name and age"
        )

    def open(self) -> None:
        """Connect (files: WAL, synchronous=FULL) and create the table and indexes."""
        self.conn = sqlite3.connect(self.path)
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            self.conn.execute(statement)
        self.conn.commit()
        self.cursor = self.conn.cursor()

    def versions(self) -> dict[str, str]:
        """The SQLite library's version."""
        return {"sqlite": sqlite3.sqlite_version}

    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """Convert to tuples (ISO datetime, JSON tags), ``executemany``, ``commit``."""
        values = [_values(row) for row in rows]
        with self.conn:
            self.conn.executemany(_INSERT, values)

    def get_each(self, keys: Sequence[int]) -> list[Any]:
        """``cursor.execute(GET, (key,)).fetchone()`` per key."""
        execute = self.cursor.execute
        return [execute(_GET, (key,)).fetchone() for key in keys]

    def by_name(self, name: str) -> list[Any]:
        """``WHERE name = ?``."""
        return self.cursor.execute(_BY_NAME, (name,)).fetchall()

    def by_city(self, city: str) -> list[Any]:
        """``WHERE city = ?`` (a full scan)."""
        return self.cursor.execute(_BY_CITY, (city,)).fetchall()

    def age_between(self, lo: int, hi: int) -> list[Any]:
        """``WHERE age BETWEEN ? AND ?``."""
        return self.cursor.execute(_BETWEEN, (lo, hi)).fetchall()

    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """``WHERE age < ? OR name = ?``."""
        return self.cursor.execute(_OR, (age, name)).fetchall()

    def count_by_city(self) -> list[tuple[str, int]]:
        """``SELECT city, count(*) ... GROUP BY city``."""
        return self.cursor.execute(_GROUP).fetchall()

    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """``UPDATE ... WHERE id = ?`` then ``commit()``, per row."""
        conn = self.conn
        for key, age, score in changes:
            conn.execute(_UPDATE, (age, score, key))
            conn.commit()

    def delete_each(self, keys: Sequence[int]) -> None:
        """``DELETE ... WHERE id = ?`` then ``commit()``, per row."""
        conn = self.conn
        for key in keys:
            conn.execute(_DELETE, (key,))
            conn.commit()

    def ident(self, item: Any) -> int:
        """The first column of the tuple."""
        return int(item[0])

    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` of the existing keys."""
        found = [self.conn.execute("SELECT id, age, score FROM users WHERE id = ?", (k,)).fetchone() for k in keys]
        return [row for row in found if row is not None]

    def row_count(self) -> int:
        """``SELECT count(*) FROM users``."""
        return int(self.conn.execute("SELECT count(*) FROM users").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class SQLite3Store(FileStore):
    """Raw sqlite3 on a file in WAL mode with ``synchronous=FULL`` (a commit is durable).

    Args:
        variant: unused (``""``).
    """

    label = "sqlite3"
    suffix = ".sqlite"
    notes = ("raw sqlite3, journal_mode=WAL, synchronous=FULL (durable commits); each insert is "
             "one INSERT + commit(); lookup via a cached prepared SELECT, row as a driver tuple; "
             "bulk build via executemany in one transaction, indexes on name and age")

    def build(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """Create the table and indexes, ``executemany`` the rows, commit, close."""
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            conn.execute(statement)
        with conn:
            conn.executemany(_INSERT, [_values(row) for row in rows])
        conn.close()

    def open(self, path: Path) -> None:
        """``sqlite3.connect(path)`` and ``PRAGMA synchronous=FULL`` (set per connection)."""
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA synchronous=FULL")

    def insert_one(self, row: dict[str, Any]) -> None:
        """``INSERT`` then ``commit()``."""
        self.conn.execute(_INSERT, _values(row))
        self.conn.commit()

    def get(self, key: int) -> dict[str, Any] | None:
        """``SELECT ... WHERE id = ?``, ``fetchone()``."""
        row = self.conn.execute(_GET, (key,)).fetchone()
        return None if row is None else dict(zip(_COLUMNS.split(", "), row, strict=True))

    def count(self) -> int:
        """``SELECT count(*) FROM users``."""
        return int(self.conn.execute("SELECT count(*) FROM users").fetchone()[0])

    def close(self) -> None:
        """Close the connection (the last one checkpoints the WAL into the file)."""
        self.conn.close()

    def versions(self) -> dict[str, str]:
        """The SQLite library's version."""
        return {"sqlite": sqlite3.sqlite_version}
