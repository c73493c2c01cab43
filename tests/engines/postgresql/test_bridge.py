"""The sync-over-asyncpg bridge: a loop per connection, the bounded pool, closing."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pytuck import Column, Session, declarative_base
from pytuck.engines.sql.pg_bridge import LoopConnection, LoopPool, drive
from pytuck.errors import DatabaseConnectionError, TransactionError

from .conftest import run_sql

asyncpg = pytest.importorskip("asyncpg")


@pytest.fixture
def pool(dsn: str) -> Iterator[LoopPool]:
    """A pool of at most two connections that gives up waiting after 0.3 s."""
    made = LoopPool(
        lambda: asyncpg.connect(dsn), "test server", min_size=1, max_size=2, acquire_timeout=0.3
    )
    made.open()
    yield made
    made.close()


def test_open_keeps_min_size_connections(pool: LoopPool) -> None:
    assert (pool.size, pool.idle_count) == (1, 1)


def test_pool_never_opens_more_than_max_size(pool: LoopPool) -> None:
    first, second = pool.acquire(), pool.acquire()
    with pytest.raises(DatabaseConnectionError, match="all 2 are in use"):
        pool.acquire()
    assert pool.size == 2
    pool.release(first)
    third = pool.acquire()
    assert third is first
    pool.release(second)
    pool.release(third)


def test_waiting_acquire_gets_a_connection_released_by_another_thread(dsn: str) -> None:
    pool = LoopPool(lambda: asyncpg.connect(dsn), "test server", max_size=1, acquire_timeout=10)
    held = pool.acquire()
    got: list[LoopConnection] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    pool.release(held)
    waiter.join(10)
    assert got == [held]
    pool.release(got[0])
    pool.close()


def test_connection_runs_from_any_thread_on_its_own_loop(pool: LoopPool) -> None:
    connection = pool.acquire()
    answers: list[Any] = []
    def ask() -> None:
        answers.append(connection.run(connection.raw.fetchval("SELECT 41 + 1")))

    worker = threading.Thread(target=ask)
    worker.start()
    worker.join(10)
    assert answers == [42]
    assert connection.run(connection.raw.fetchval("SELECT 7")) == 7
    pool.release(connection)


def test_sync_call_from_inside_a_running_event_loop_works(pool: LoopPool) -> None:
    connection = pool.acquire()

    async def inside() -> Any:
        return connection.run(connection.raw.fetchval("SELECT 'hop'"))

    assert asyncio.run(inside()) == "hop"
    pool.release(connection)


def test_transaction_left_open_is_rolled_back_on_release(pool: LoopPool) -> None:
    connection = pool.acquire()
    connection.run(connection.raw.execute("BEGIN"))
    pool.release(connection)
    again = pool.acquire()
    assert not again.raw.is_in_transaction()
    pool.release(again)


def test_close_cuts_a_busy_connection_and_refuses_more(pool: LoopPool) -> None:
    busy = pool.acquire()
    pool.close()
    with pytest.raises(TransactionError, match="closed"):
        busy.run(busy.raw.fetchval("SELECT 1"))
    with pytest.raises(TransactionError, match="closed"):
        pool.acquire()
    pool.release(busy)
    assert busy.loop.is_closed()


def test_drive_runs_a_coroutine_on_a_given_loop() -> None:
    loop = asyncio.new_event_loop()

    async def answer() -> int:
        await asyncio.sleep(0)
        return 5

    assert drive(loop, answer()) == 5
    loop.close()


def _backends(dsn: str, name: str) -> int:
    rows = run_sql(dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name)
    return int(rows[0][0])


def test_closing_the_storage_closes_every_connection(open_storage: Any, dsn: str) -> None:
    name = f"pytuck-{secrets.token_hex(4)}"
    storage = open_storage(application_name=name, max_size=3)
    base: Any = declarative_base(storage)

    class Item(base):  # type: ignore[misc, valid-type]
        __tablename__ = "items"
        id = Column(int, primary_key=True)

    left_open = Session(storage)
    left_open.add(Item())
    left_open.flush()  # a transaction still open, holding a connection and locks
    with Session(storage) as other:
        other.add(Item())
        other.commit()
    assert _backends(dsn, name) >= 2
    storage.close()
    assert _backends(dsn, name) == 0
    with pytest.raises(TransactionError):
        left_open.commit()


def test_idle_connection_closed_by_the_server_is_replaced(pool: LoopPool, dsn: str) -> None:
    connection = pool.acquire()
    pid = connection.run(connection.raw.fetchval("SELECT pg_backend_pid()"))
    pool.release(connection)
    run_sql(dsn, "SELECT pg_terminate_backend($1, 5000)", pid)  # waits until it is gone
    fresh = pool.acquire()
    assert fresh is not connection
    assert fresh.run(fresh.raw.fetchval("SELECT pg_backend_pid()")) != pid
    pool.release(fresh)
