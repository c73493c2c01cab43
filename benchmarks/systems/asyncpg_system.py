"""Raw asyncpg: the floor an ORM on PostgreSQL builds on, driven from synchronous code.

The connection lives on a private event loop that the calling thread runs
for each call (``loop.run_until_complete``): the cheapest way to use asyncpg
from synchronous code (no thread hop), the way pytuck's PostgreSQL engine
drives it. The bulk insert is one binary ``COPY`` (``copy_records_to_table``);
lookups and queries are statements prepared once (``connection.prepare``)
and fetched per call, rows returned as asyncpg ``Record`` objects with
``tags`` left as JSON text; each write is one auto-committed statement (one
round trip, one durable commit). The tables live in a schema of their own,
dropped at the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.harness import System
from benchmarks.systems.pg import schema_name

__all__ = ["AsyncpgSystem"]

_FIELDS = ("id", "name", "email", "age", "score", "active", "city", "created_at", "tags")
_COLUMNS = ", ".join(_FIELDS)
_SCHEMA = [
    "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, "
    "age BIGINT NOT NULL, score DOUBLE PRECISION NOT NULL, active BOOLEAN NOT NULL, "
    "city TEXT NOT NULL, created_at TIMESTAMP NOT NULL, tags JSONB NOT NULL)",
    "CREATE INDEX ix_users_name ON users (name)",
    "CREATE INDEX ix_users_age ON users (age)",
]
_GET = f"SELECT {_COLUMNS} FROM users WHERE id = $1"
_BY_NAME = f"SELECT {_COLUMNS} FROM users WHERE name = $1"
_BY_CITY = f"SELECT {_COLUMNS} FROM users WHERE city = $1"
_BETWEEN = f"SELECT {_COLUMNS} FROM users WHERE age BETWEEN $1 AND $2"
_OR = f"SELECT {_COLUMNS} FROM users WHERE age < $1 OR name = $2"
_GROUP = "SELECT city, count(*) FROM users GROUP BY city"
_UPDATE = "UPDATE users SET age = $1, score = $2 WHERE id = $3"
_DELETE = "DELETE FROM users WHERE id = $1"


class AsyncpgSystem(System):
    """COPY bulk insert, prepared statements, one auto-committed statement per write.

    Args:
        storage: ``"postgresql"`` (the only storage class).
        folder: unused (the data is on the server).
        dsn: the server's DSN.
    """

    def __init__(self, storage: str, folder: Path, dsn: str | None = None) -> None:
        if not dsn:
            raise ValueError("asyncpg needs a DSN (--dsn)")
        self.storage_class = storage
        self.dsn = dsn
        self.schema = schema_name("asyncpg")
        self.label = "asyncpg"
        self.notes = (
            "raw asyncpg on a private event loop run by the calling thread (run_until_complete per "
            "call); bulk insert via COPY (copy_records_to_table); statements prepared once, rows "
            "returned as Records (tags as JSON text); each write one auto-committed statement; "
            "indexes on name and age; its tables in a schema of its own, dropped at the end"
        )

    def open(self) -> None:
        """Connect, create the schema, table, indexes, and prepare the statements."""
        self.loop = asyncio.new_event_loop()
        self.run = self.loop.run_until_complete
        self.conn = self.run(asyncpg.connect(self.dsn, timeout=10))
        self.server_version = str(self.run(self.conn.fetchval("SHOW server_version"))).split()[0]
        self.run(self.conn.execute(f'CREATE SCHEMA "{self.schema}"'))
        self.run(self.conn.execute(f'SET search_path TO "{self.schema}"'))
        for statement in _SCHEMA:
            self.run(self.conn.execute(statement))
        prepare = self.conn.prepare
        self.get_stmt = self.run(prepare(_GET))
        self.name_stmt = self.run(prepare(_BY_NAME))
        self.city_stmt = self.run(prepare(_BY_CITY))
        self.between_stmt = self.run(prepare(_BETWEEN))
        self.or_stmt = self.run(prepare(_OR))
        self.group_stmt = self.run(prepare(_GROUP))
        self.update_stmt = self.run(prepare(_UPDATE))
        self.delete_stmt = self.run(prepare(_DELETE))

    def versions(self) -> dict[str, str]:
        """asyncpg's and the server's versions."""
        return {"asyncpg": asyncpg.__version__, "postgresql": self.server_version}

    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """Rows -> tuples (tags as JSON text) -> ``copy_records_to_table``."""
        dumps = json.dumps
        records = [
            (r["id"], r["name"], r["email"], r["age"], r["score"], r["active"], r["city"],
             r["created_at"], dumps(r["tags"]))
            for r in rows
        ]
        self.run(self.conn.copy_records_to_table("users", records=records, columns=_FIELDS,
                                                  schema_name=self.schema))

    def get_each(self, keys: Sequence[int]) -> list[Any]:
        """``prepared.fetchrow(key)`` per key."""
        run = self.run
        fetchrow = self.get_stmt.fetchrow
        return [run(fetchrow(key)) for key in keys]

    def by_name(self, name: str) -> list[Any]:
        """``WHERE name = $1``."""
        return list(self.run(self.name_stmt.fetch(name)))

    def by_city(self, city: str) -> list[Any]:
        """``WHERE city = $1`` (a scan)."""
        return list(self.run(self.city_stmt.fetch(city)))

    def age_between(self, lo: int, hi: int) -> list[Any]:
        """``WHERE age BETWEEN $1 AND $2``."""
        return list(self.run(self.between_stmt.fetch(lo, hi)))

    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """``WHERE age < $1 OR name = $2``."""
        return list(self.run(self.or_stmt.fetch(age, name)))

    def count_by_city(self) -> list[tuple[str, int]]:
        """``SELECT city, count(*) ... GROUP BY city``."""
        return [(row[0], row[1]) for row in self.run(self.group_stmt.fetch())]

    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """The prepared ``UPDATE`` per row, auto-committed."""
        run = self.run
        fetch = self.update_stmt.fetch
        for key, age, score in changes:
            run(fetch(age, score, key))

    def delete_each(self, keys: Sequence[int]) -> None:
        """The prepared ``DELETE`` per row, auto-committed."""
        run = self.run
        fetch = self.delete_stmt.fetch
        for key in keys:
            run(fetch(key))

    def ident(self, item: Any) -> int:
        """The first column of the record."""
        return int(item[0])

    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` of the existing keys."""
        rows = self.run(self.conn.fetch("SELECT id, age, score FROM users WHERE id = ANY($1::bigint[])",
                                        list(keys)))
        return [(int(r[0]), int(r[1]), float(r[2])) for r in rows]

    def row_count(self) -> int:
        """``SELECT count(*) FROM users``."""
        return int(self.run(self.conn.fetchval("SELECT count(*) FROM users")))

    def close(self) -> None:
        """Drop the schema, close the connection and the loop."""
        try:
            self.run(self.conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            self.run(self.conn.close())
            self.loop.close()
