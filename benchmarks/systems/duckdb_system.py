"""Raw DuckDB: the floor an ORM on DuckDB builds on.

The bulk insert goes through DuckDB's columnar path: a ``pyarrow.Table``
built column by column from the row dicts (timed: it is part of getting the
rows in), registered as a view, then one ``INSERT INTO users SELECT * FROM``
it. Lookups and queries use one SQL string per operation with ``?``
parameters on one cursor (DuckDB's Python API has no reusable prepared
statement object; it caches plans per connection). Reads return the driver's
tuples as they are (``created_at`` as a datetime, ``tags`` as a list). Each
write is one auto-committed statement, i.e. one durable commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow

from benchmarks.harness import System

__all__ = ["DuckDBSystem"]

_SCHEMA = [
    "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, email VARCHAR NOT NULL, "
    "age BIGINT NOT NULL, score DOUBLE NOT NULL, active BOOLEAN NOT NULL, city VARCHAR NOT NULL, "
    "created_at TIMESTAMP NOT NULL, tags VARCHAR[] NOT NULL)",
    "CREATE INDEX ix_users_name ON users (name)",
    "CREATE INDEX ix_users_age ON users (age)",
]
_FIELDS = ("id", "name", "email", "age", "score", "active", "city", "created_at", "tags")
_COLUMNS = ", ".join(_FIELDS)
_ARROW_SCHEMA = pyarrow.schema([
    ("id", pyarrow.int64()), ("name", pyarrow.string()), ("email", pyarrow.string()),
    ("age", pyarrow.int64()), ("score", pyarrow.float64()), ("active", pyarrow.bool_()),
    ("city", pyarrow.string()), ("created_at", pyarrow.timestamp("us")),
    ("tags", pyarrow.list_(pyarrow.string())),
])
_GET = f"SELECT {_COLUMNS} FROM users WHERE id = ?"
_BY_NAME = f"SELECT {_COLUMNS} FROM users WHERE name = ?"
_BY_CITY = f"SELECT {_COLUMNS} FROM users WHERE city = ?"
_BETWEEN = f"SELECT {_COLUMNS} FROM users WHERE age BETWEEN ? AND ?"
_OR = f"SELECT {_COLUMNS} FROM users WHERE age < ? OR name = ?"
_GROUP = "SELECT city, count(*) FROM users GROUP BY city"
_UPDATE = "UPDATE users SET age = ?, score = ? WHERE id = ?"
_DELETE = "DELETE FROM users WHERE id = ?"


class DuckDBSystem(System):
    """Arrow bulk insert, one parameterised statement per operation, auto-commit per write.

    Args:
        storage: ``"duckdb"`` (the only storage class).
        folder: a temporary folder for the database file.
        dsn: unused.
    """

    def __init__(self, storage: str, folder: Path, dsn: str | None = None) -> None:
        self.storage_class = storage
        self.path = str(folder / "raw.duckdb")
        self.label = "duckdb"
        self.notes = (
            "raw duckdb (file): bulk insert via a pyarrow.Table built from the dicts, registered, "
            "INSERT ... SELECT; other operations one parameterised statement on one cursor, rows "
            "returned as driver tuples; each write auto-committed; indexes on name and age"
        )

    def open(self) -> None:
        """Connect and create the table and indexes."""
        self.conn = duckdb.connect(self.path)
        for statement in _SCHEMA:
            self.conn.execute(statement)
        self.cursor = self.conn.cursor()

    def versions(self) -> dict[str, str]:
        """DuckDB's and pyarrow's versions."""
        return {"duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__}

    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """Columns -> ``pyarrow.Table`` -> ``register`` -> ``INSERT INTO users SELECT``."""
        table = pyarrow.table({field: [row[field] for row in rows] for field in _FIELDS}, schema=_ARROW_SCHEMA)
        self.conn.register("incoming_users", table)
        try:
            self.conn.execute("INSERT INTO users SELECT * FROM incoming_users")
        finally:
            self.conn.unregister("incoming_users")

    def get_each(self, keys: Sequence[int]) -> list[Any]:
        """``cursor.execute(GET, [key]).fetchone()`` per key."""
        execute = self.cursor.execute
        return [execute(_GET, [key]).fetchone() for key in keys]

    def by_name(self, name: str) -> list[Any]:
        """``WHERE name = ?``."""
        return self.cursor.execute(_BY_NAME, [name]).fetchall()

    def by_city(self, city: str) -> list[Any]:
        """``WHERE city = ?`` (a scan)."""
        return self.cursor.execute(_BY_CITY, [city]).fetchall()

    def age_between(self, lo: int, hi: int) -> list[Any]:
        """``WHERE age BETWEEN ? AND ?``."""
        return self.cursor.execute(_BETWEEN, [lo, hi]).fetchall()

    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """``WHERE age < ? OR name = ?``."""
        return self.cursor.execute(_OR, [age, name]).fetchall()

    def count_by_city(self) -> list[tuple[str, int]]:
        """``SELECT city, count(*) ... GROUP BY city``."""
        return self.cursor.execute(_GROUP).fetchall()

    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """``UPDATE ... WHERE id = ?``, auto-committed, per row."""
        execute = self.cursor.execute
        for key, age, score in changes:
            execute(_UPDATE, [age, score, key])

    def delete_each(self, keys: Sequence[int]) -> None:
        """``DELETE ... WHERE id = ?``, auto-committed, per row."""
        execute = self.cursor.execute
        for key in keys:
            execute(_DELETE, [key])

    def ident(self, item: Any) -> int:
        """The first column of the tuple."""
        return int(item[0])

    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` of the existing keys."""
        rows = self.conn.execute("SELECT id, age, score FROM users WHERE id IN (SELECT unnest(?))",
                                 [list(keys)]).fetchall()
        return [(int(k), int(a), float(s)) for k, a, s in rows]

    def row_count(self) -> int:
        """``SELECT count(*) FROM users``."""
        row = self.conn.execute("SELECT count(*) FROM users").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the connection."""
        self.cursor.close()
        self.conn.close()
