"""Fixtures of the PostgreSQL engine tests: a reachable server and a schema per test.

The server comes from ``PYTUCK_PG_DSN`` (default: the local test server). When
it cannot be reached the tests are skipped, unless ``PYTUCK_REQUIRE_PG=1``,
which turns a missing server into a failure (CI sets it).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import pytuck.engines.sql  # noqa: F401  (registers the SQL engines)
from pytuck import Storage

asyncpg = pytest.importorskip("asyncpg")

DSN = os.environ.get("PYTUCK_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
_reachable: bool | None = None


def _server_answers() -> bool:
    async def probe() -> None:
        connection = await asyncpg.connect(DSN, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


@pytest.fixture
def dsn() -> str:
    """The DSN of a PostgreSQL server that answers (skip or fail otherwise)."""
    global _reachable
    if _reachable is None:
        _reachable = _server_answers()
    if not _reachable:
        message = f"no PostgreSQL server answers at PYTUCK_PG_DSN ({DSN})"
        if os.environ.get("PYTUCK_REQUIRE_PG") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return DSN


def run_sql(dsn: str, sql: str, *args: Any) -> list[Any]:
    """Run one statement on a fresh asyncpg connection (outside pytuck); its rows."""

    async def go() -> list[Any]:
        connection = await asyncpg.connect(dsn, timeout=5)
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    return asyncio.run(go())


@pytest.fixture
def make_schema(dsn: str) -> Iterator[Callable[[], str]]:
    """Fresh schema names; every schema named is dropped after the test."""
    names: list[str] = []

    def make() -> str:
        names.append(f"pytuck_pgtest_{secrets.token_hex(5)}")
        return names[-1]

    yield make
    for name in names:
        run_sql(dsn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def open_storage(dsn: str, make_schema: Callable[[], str]) -> Iterator[Callable[..., Storage]]:
    """Opens storages in a fresh schema each (unless ``schema=`` is given); all closed after."""
    opened: list[Storage] = []

    def open_(**options: Any) -> Storage:
        options.setdefault("schema", make_schema())
        storage = Storage(dsn, **options)
        opened.append(storage)
        return storage

    yield open_
    for storage in opened:
        storage.close()
