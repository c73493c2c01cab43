"""Synchronous calls into asyncpg: a private event loop per connection, a bounded pool,
and the connections the generic SQL engine drives (``engine.Connection``).

pytuck's API is synchronous; asyncpg is asyncio only. Two ways to bridge them
were measured on this machine (2 cores, Python 3.11.7, asyncpg 0.32.0,
PostgreSQL 15 on the same host; prepared primary-key fetch of one row,
interleaved rounds of 500 calls, median of 15 rounds, three runs)::

    native asyncio, one coroutine looping             24.4-24.9 µs per get
    (b) loop.run_until_complete per call, same thread  33.2-34.4 µs  (+9 µs)
    (a) run_coroutine_threadsafe to a loop thread     155-167 µs     (+131-143 µs)
    floor of (b): a no-op coroutine                     7.0 µs
    floor of (a): a no-op coroutine                    98-102 µs

(When the server and the client land on the same core the native get rises to
~88-105 µs; the bridge costs stay the same.) A loop in another thread pays two
thread wake-ups per call, more than a whole primary-key get; a loop driven by
the calling thread pays only asyncio's own bookkeeping. So every call here
runs ``loop.run_until_complete`` in the thread that makes it.

Each connection gets its *own* event loop, created with it and closed with
it. An asyncpg connection belongs to the loop it was opened on, and a loop may
be driven by any thread as long as only one drives it at a time; the pool hands
a connection to one transaction (one thread) at a time, so a connection never
leaves its loop, a session's transaction can be used from whichever thread
holds it, and two sessions in one thread simply drive two loops in turn. There
is no per-thread state to clean up when a thread ends.

If the calling thread already runs an event loop (sync pytuck called from async
code), ``run_until_complete`` is not allowed there, so such calls hop to a
helper thread that drives the connection's loop instead (the slow path, only
then).

On top of that: :class:`PostgresqlConnection` (one transaction's connection,
sending ``BEGIN`` and savepoint statements together with the next statement
to save round trips), :class:`KeyCounter` (integer keys from a counter that
no rollback moves back) and :class:`PostgresqlPool`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import asyncpg  # type: ignore[import-untyped]

from pytuck.engines.sql.connection import Connection, ConnectionPool
from pytuck.engines.sql.dialect import Dialect
from pytuck.errors import DatabaseConnectionError, TableNotFoundError, TransactionError

__all__ = [
    "LoopConnection",
    "LoopPool",
    "drive",
    "PostgresqlConnection",
    "PostgresqlPool",
    "KeyCounter",
]

T = TypeVar("T")

#: How every pytuck transaction starts (DESIGN.md, Transactions: a write based
#: on a stale read must fail, which REPEATABLE READ guarantees).
_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ"
#: Statements that change no data: sent with the next statement (one round trip).
_DEFERRABLE = ("SAVEPOINT ", "RELEASE ", "ROLLBACK TO ")

#: Seconds a graceful close of one connection may take before it is cut.
_CLOSE_TIMEOUT = 2.0

_helper_lock = threading.Lock()
_helper: ThreadPoolExecutor | None = None


def _helper_executor() -> ThreadPoolExecutor:
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pytuck-pg")
        return _helper


def drive(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on ``loop`` from synchronous code.

    The loop must not be running. Normally the calling thread drives it; when
    that thread already runs another event loop, a helper thread does.
    """
    if asyncio.events._get_running_loop() is None:
        return loop.run_until_complete(coroutine)
    return _helper_executor().submit(loop.run_until_complete, coroutine).result()


async def _tick() -> None:
    await asyncio.sleep(0)


def _alive(connection: LoopConnection) -> bool:
    """True unless the connection was closed, here or by the server (checked by
    letting its loop handle what arrived while it sat idle)."""
    if connection.closed or connection.broken:
        return False
    try:
        connection.run(_tick())
    except Exception:
        return False
    return not connection.raw.is_closed()


class LoopConnection:
    """One asyncpg connection together with the private event loop it lives on.

    Used by one thread at a time (the holder); :meth:`interrupt` may be called
    from any thread.

    Attributes:
        raw: the ``asyncpg.Connection``.
        loop: the event loop the connection was opened on.
        broken: True once a call was cut off halfway (KeyboardInterrupt): the
            protocol state is unknown, so the pool discards the connection.
    """

    __slots__ = ("raw", "loop", "broken", "_lock", "_closed", "__weakref__")

    def __init__(self, raw: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.raw = raw
        self.loop = loop
        self.broken = False
        self._lock = threading.Lock()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once the connection was closed or interrupted."""
        return self._closed

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one asyncpg coroutine of this connection and return its result.

        Raises:
            TransactionError: the connection was closed (its storage was closed).
            Exception: whatever the coroutine raises (asyncpg errors unchanged:
                the caller translates them).
        """
        with self._lock:
            if self._closed:
                coroutine.close()
                raise TransactionError(
                    "this storage is closed (its database connections are gone); "
                    "open a new Storage to use it"
                )
            try:
                return drive(self.loop, coroutine)
            except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
                # Cut off mid-protocol: the connection state is unknown.
                self.broken = True
                raise

    def close(self) -> None:
        """Close the connection politely (bounded time), then its loop. Idempotent."""
        with self._lock:
            self._dispose()

    def _dispose(self) -> None:
        # Caller holds self._lock, so the loop is not being driven.
        if self.loop.is_closed():
            self._closed = True
            return
        self._closed = True
        try:
            if not self.raw.is_closed():
                if self.broken:
                    self.raw.terminate()
                else:
                    drive(self.loop, self.raw.close(timeout=_CLOSE_TIMEOUT))
        except Exception:  # a dead server or socket: cut the connection instead
            self.raw.terminate()
        finally:
            try:
                # Let the transport's close callbacks run so the socket is released.
                drive(self.loop, asyncio.sleep(0))
            finally:
                self.loop.close()

    def interrupt(self) -> None:
        """Close the connection from any thread, even while its holder is mid-call.

        If the holder is not inside a call, the connection is closed here and
        now; otherwise the loop is asked (thread-safely) to cut it, the
        holder's call fails, and the holder's release closes the loop.
        """
        if self._lock.acquire(blocking=False):
            try:
                self._dispose()
            finally:
                self._lock.release()
            return
        self._closed = True
        try:
            self.loop.call_soon_threadsafe(self.raw.terminate)
        except RuntimeError:  # the loop closed meanwhile: nothing left to cut
            pass


class LoopPool:
    """A thread-safe pool of :class:`LoopConnection`, between ``min_size`` and ``max_size``.

    Args:
        connect: returns a coroutine that opens one asyncpg connection (it runs
            on the new connection's own loop). It raises pytuck errors for
            failures to connect.
        location: the database as shown in messages (password masked).
        min_size: connections opened by :meth:`open` and kept when idle.
        max_size: the most connections open at once; further :meth:`acquire`
            calls wait for a release.
        acquire_timeout: seconds :meth:`acquire` waits for a free connection.

    Raises:
        ValueError: sizes out of order (callers turn this into ConfigurationError).
    """

    def __init__(
        self,
        connect: Callable[[], Coroutine[Any, Any, Any]],
        location: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        acquire_timeout: float = 30.0,
    ) -> None:
        if min_size < 0 or max_size < 1 or min_size > max_size:
            raise ValueError(
                f"pool sizes must satisfy 0 <= min_size <= max_size and max_size >= 1, "
                f"got min_size={min_size}, max_size={max_size}"
            )
        self._connect = connect
        self.location = location
        self.min_size = min_size
        self.max_size = max_size
        self.acquire_timeout = acquire_timeout
        self._idle: list[LoopConnection] = []
        self._busy: set[LoopConnection] = set()
        self._opening = 0
        self._closed = False
        self._condition = threading.Condition(threading.Lock())

    @property
    def size(self) -> int:
        """Connections open or being opened."""
        with self._condition:
            return len(self._idle) + len(self._busy) + self._opening

    @property
    def idle_count(self) -> int:
        """Open connections waiting in the pool."""
        with self._condition:
            return len(self._idle)

    def open(self) -> None:
        """Open ``min_size`` connections now, so a bad DSN fails at once."""
        opened = [self.acquire() for _ in range(self.min_size)]
        for connection in opened:
            self.release(connection)

    def _new_connection(self) -> LoopConnection:
        loop = asyncio.new_event_loop()
        try:
            raw = drive(loop, self._connect())
        except BaseException:
            loop.close()
            raise
        return LoopConnection(raw, loop)

    def acquire(self) -> LoopConnection:
        """Take a connection for one transaction: an idle one, a new one, or wait.

        An idle connection is checked first: its loop runs once, which
        notices a connection the server closed meanwhile (a restart); such
        a connection is replaced.

        Raises:
            DatabaseConnectionError: every connection stayed busy for
                ``acquire_timeout`` seconds, or a new one could not be opened.
            TransactionError: the pool is closed.
        """
        deadline = time.monotonic() + self.acquire_timeout
        while True:
            idle = self._take(deadline)
            if idle is None:
                break
            if _alive(idle):
                return idle
            self.release(idle, discard=True)
        try:
            connection = self._new_connection()
        except BaseException:
            with self._condition:
                self._opening -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._opening -= 1
            if self._closed:
                connection.close()
                self._check_open()
            self._busy.add(connection)
        return connection

    def _take(self, deadline: float) -> LoopConnection | None:
        """An idle connection (now busy), or None with a slot reserved for a new one."""
        with self._condition:
            while True:
                self._check_open()
                if self._idle:
                    connection = self._idle.pop()
                    self._busy.add(connection)
                    return connection
                if len(self._busy) + self._opening < self.max_size:
                    self._opening += 1
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._condition.wait(remaining):
                    if self._idle or len(self._busy) + self._opening < self.max_size:
                        continue
                    raise DatabaseConnectionError(
                        f"no free connection to {self.location} after "
                        f"{self.acquire_timeout:g} s: all {self.max_size} are in use by open "
                        "transactions; commit or close sessions sooner, or raise max_size",
                        details={"max_size": self.max_size},
                    )

    def release(self, connection: LoopConnection, discard: bool = False) -> None:
        """Give a connection back. A transaction left open is rolled back first.

        Args:
            connection: a connection from :meth:`acquire`.
            discard: close it instead of keeping it (after an error that may
                have left it unusable).
        """
        keep = not (discard or connection.broken or connection.closed or self._closed)
        if keep and connection.raw.is_closed():
            keep = False
        if keep and connection.raw.is_in_transaction():
            try:
                connection.run(connection.raw.execute("ROLLBACK"))
            except Exception:
                keep = False
        with self._condition:
            self._busy.discard(connection)
            if keep and not self._closed:
                self._idle.append(connection)
                self._condition.notify()
                return
            self._condition.notify()
        connection.close()

    def close(self) -> None:
        """Close every connection: idle ones now, busy ones cut off (their holders'
        next call raises). Idempotent; further :meth:`acquire` raises."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._condition.notify_all()
        for connection in idle:
            connection.close()
        for connection in busy:
            connection.interrupt()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise TransactionError(
                f"this storage is closed ({self.location}); open a new Storage to use it"
            )


# --- the engine's connections (the seam of engine.py) ---------------------------------------


def _changed(status: str) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3`` (-1 when it names none)."""
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else -1


async def _fetch(raw: Any, begin: str | None, sql: str, params: Sequence[Any]) -> Any:
    if begin is not None:
        await raw.execute(begin)
    return await raw.fetch(sql, *params)


async def _execute(raw: Any, begin: str | None, sql: str, params: Sequence[Any]) -> str:
    if begin is not None:
        await raw.execute(begin)
    return cast(str, await raw.execute(sql, *params))


async def _fetch_many(raw: Any, begin: str | None, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
    if begin is not None:
        await raw.execute(begin)
    return await raw.fetchmany(sql, rows)


async def _execute_many(
    raw: Any, begin: str | None, sql: str, rows: Sequence[Sequence[Any]]
) -> None:
    if begin is not None:
        await raw.execute(begin)
    await raw.executemany(sql, rows)


async def _copy(
    raw: Any,
    begin: str | None,
    table: str,
    schema: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    if begin is not None:
        await raw.execute(begin)
    await raw.copy_records_to_table(table, records=rows, columns=list(columns), schema_name=schema)


async def _query(
    raw: Any, begin: str | None, sql: str, params: Sequence[Any]
) -> tuple[list[str], list[Any]]:
    if params:
        if begin is not None:
            await raw.execute(begin)
        statement = await raw.prepare(sql)
    else:
        # Several commands in one string cannot be prepared; they run through
        # the simple protocol instead (there are no parameters to bind). The
        # savepoint keeps the transaction usable after the failed attempt.
        mark = "SAVEPOINT pytuck_raw_sql"
        await raw.execute(mark if begin is None else f"{begin};\n{mark}")
        try:
            statement = await raw.prepare(sql)
        except asyncpg.PostgresSyntaxError as exc:
            if "multiple commands" not in str(exc):
                raise
            await raw.execute("ROLLBACK TO SAVEPOINT pytuck_raw_sql")
            await raw.execute(sql)
            return [], []
    names = [attribute.name for attribute in statement.get_attributes()]
    rows = await statement.fetch(*params)
    return names, rows


class PostgresqlConnection(Connection):
    """One pooled asyncpg connection driving one transaction (see the module docstring).

    Round trips are what a statement costs here, so statements that change no
    data (``BEGIN``, ``SAVEPOINT``, ``RELEASE``, ``ROLLBACK TO``) wait and go
    out in one message with the next statement, or with ``COMMIT``. A
    transaction that ran no statement sends nothing at all.

    Attributes:
        link: the connection and its event loop.
        keys: the engine's key counter.
        key_floor: per table, a value the key counter is known to have reached
            (this transaction's own reservations); explicit keys below it need
            no counter update.
    """

    def __init__(self, link: LoopConnection, keys: KeyCounter, returning: dict[str, str]) -> None:
        self.link = link
        self.raw = link.raw
        self.keys = keys
        self.key_floor: dict[str, int] = {}
        self._deferred: list[str] = []
        self._begun = False  # BEGIN was sent
        self._wrote = False
        self._returning = returning

    def _prefix(self) -> str | None:
        """The deferred statements to send before the next one, if any."""
        if not self._deferred:
            return None
        prefix = ";\n".join(self._deferred)
        self._deferred = []
        self._begun = True
        return prefix

    def _write(self) -> str | None:
        self._wrote = True
        return self._prefix()

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; the rows are asyncpg Records (read by index and unpacked like tuples)."""
        rows = self.link.run(_fetch(self.raw, self._prefix(), sql, params))
        return cast(list[tuple[Any, ...]], rows)

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the rows it changed (-1 for a deferred savepoint statement)."""
        if not params and sql.startswith(_DEFERRABLE):
            self._deferred.append(sql)
            return -1
        return _changed(self.link.run(_execute(self.raw, self._write(), sql, params)))

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run a statement per parameter row in one pipelined round trip; rows changed in total.

        asyncpg's ``executemany`` reports no counts, so UPDATE and DELETE get
        ``RETURNING 1`` and the returned rows are counted.
        """
        if not rows:
            return 0
        if len(rows) == 1:
            return self.run(sql, rows[0])
        returning = self._returning.get(sql)
        if returning is None:
            if sql.lstrip()[:6].upper() in ("UPDATE", "DELETE"):
                returning = f"{sql} RETURNING 1"
            else:
                returning = ""
            self._returning[sql] = returning
        if returning:
            return len(self.link.run(_fetch_many(self.raw, self._write(), returning, rows)))
        self.link.run(_execute_many(self.raw, self._write(), sql, rows))
        return len(rows)

    def insert_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run an INSERT once per row (one pipelined round trip)."""
        if len(rows) == 1:
            self.link.run(_execute(self.raw, self._write(), sql, rows[0]))
        else:
            self.link.run(_execute_many(self.raw, self._write(), sql, rows))

    def copy(
        self, table: str, schema: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Load rows with COPY (binary), inside the transaction."""
        self.link.run(_copy(self.raw, self._write(), table, schema, columns, rows))

    def query(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Raw SQL: column names and rows (several commands in one string run too, without rows)."""
        names, rows = self.link.run(_query(self.raw, self._write(), sql, params))
        return names, cast(list[tuple[Any, ...]], rows)

    def begin(self) -> None:
        """Start a transaction: BEGIN goes out with the first statement."""
        self._deferred = [_BEGIN]
        self._begun = False
        self._wrote = False

    def commit(self) -> None:
        """COMMIT (nothing to send when no statement ran).

        Raises:
            TransactionError: PostgreSQL rolled the transaction back instead,
                because one of its writes had failed.
        """
        deferred, self._deferred = self._deferred, []
        if not self._begun:
            return
        self._begun = False
        status = self.link.run(self.raw.execute(";\n".join([*deferred, "COMMIT"])))
        if status == "ROLLBACK" and self._wrote:
            # A failed statement aborted the transaction and PostgreSQL rolled
            # it back; with only reads in it, that loses nothing.
            raise TransactionError(
                "the transaction was rolled back, not committed: one of its statements failed "
                "earlier; nothing of it was written"
            )

    def rollback(self) -> None:
        """ROLLBACK (nothing to send when no statement ran)."""
        self._deferred = []
        if not self._begun:
            return
        self._begun = False
        self.link.run(self.raw.execute("ROLLBACK"))

    def close(self) -> None:
        """Close the connection and its event loop."""
        self.link.close()


class KeyCounter:
    """Hands out integer keys from each table's counter in the metadata table.

    The counter moves in autocommit statements on a connection of its own
    (opened on first use), so a reservation is never undone by a rollback
    and never waits for another transaction: keys increase and are never
    reused (DESIGN.md, Keys), across threads and processes.
    """

    def __init__(self, open_connection: Callable[[], LoopConnection]) -> None:
        self._open = open_connection
        self._link: LoopConnection | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _run(self, dialect: Dialect, table: str, sql: str, *params: Any) -> int:
        with self._lock:
            if self._closed:
                raise TransactionError("this storage is closed; open a new Storage to use it")
            link = self._link
            if link is None or not _alive(link):
                if link is not None:
                    link.close()
                link = self._link = self._open()
            value = link.run(link.raw.fetchval(sql, *params))
        if value is None:
            raise TableNotFoundError(
                f"table {table!r} does not exist (it was dropped); declare its model again",
                table_name=table,
            )
        return int(value)

    def reserve(self, dialect: Dialect, table: str, count: int) -> int:
        """The first of ``count`` consecutive fresh keys of ``table``."""
        meta = dialect.quote(dialect.schema_table)
        return self._run(
            dialect,
            table,
            f"UPDATE {meta} SET next_key = next_key + $2 WHERE name = $1 RETURNING next_key - $2",
            table,
            count,
        )

    def advance(self, dialect: Dialect, table: str, at_least: int) -> int:
        """Move the counter of ``table`` to at least ``at_least``; return where it stands."""
        meta = dialect.quote(dialect.schema_table)
        return self._run(
            dialect,
            table,
            f"UPDATE {meta} SET next_key = GREATEST(next_key, $2) WHERE name = $1 "
            "RETURNING next_key",
            table,
            at_least,
        )

    def close(self) -> None:
        """Close the counter's connection. Idempotent."""
        with self._lock:
            self._closed = True
            link, self._link = self._link, None
        if link is not None:
            link.interrupt()


class PostgresqlPool(ConnectionPool):
    """The engine's pool: :class:`~pytuck.engines.sql.pg_bridge.LoopPool` plus the key counter."""

    def __init__(self, loops: LoopPool, keys: KeyCounter) -> None:
        self.loops = loops
        self.keys = keys
        # Statement -> its "RETURNING 1" form for counted executemany, shared
        # by every connection so that a cached statement builds no string.
        self._returning: dict[str, str] = {}

    def acquire(self) -> PostgresqlConnection:
        """A connection for one transaction (waits when ``max_size`` are in use)."""
        return PostgresqlConnection(self.loops.acquire(), self.keys, self._returning)

    def release(self, connection: Connection, reusable: bool = True) -> None:
        """Give the connection back (closed instead when it failed)."""
        self.loops.release(cast(PostgresqlConnection, connection).link, discard=not reusable)

    def close(self) -> None:
        """Close every connection, busy ones included, and the key counter's."""
        self.keys.close()
        self.loops.close()
