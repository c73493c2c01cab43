"""The connection seam of the SQL engines: what the generic engine asks of a driver.

A database module supplies a :class:`Connection` subclass (one driver
connection, used by one transaction at a time) and a :class:`ConnectionPool`
that hands them out; :class:`SimplePool` serves drivers whose connections are
cheap to keep and need no event loop. Neither knows SQL: the dialect and the
compiler build the text, the engine drives these.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Connection", "ConnectionPool", "SimplePool"]


class Connection(ABC):
    """One driver connection, used by one transaction (one thread) at a time.

    Parameters are sequences of driver values (already adapted by the
    dialect). Methods raise the driver's own exceptions; the engine
    classifies them with ``Dialect.classify_error``.
    """

    @abstractmethod
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return every row as a tuple."""

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed (-1 when unknown)."""

    @abstractmethod
    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement once per parameter row; return the rows changed in total."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run raw SQL; return (column names, rows); ``([], [])`` for a statement with no result."""

    @abstractmethod
    def begin(self) -> None:
        """Start a transaction (the isolation level the engine's contract needs)."""

    @abstractmethod
    def commit(self) -> None:
        """Commit the open transaction."""

    @abstractmethod
    def rollback(self) -> None:
        """Roll back the open transaction (no error when none is open)."""

    @abstractmethod
    def close(self) -> None:
        """Close the driver connection."""


class ConnectionPool(ABC):
    """Hands out connections to transactions and takes them back."""

    @abstractmethod
    def acquire(self) -> Connection:
        """A connection for the caller's exclusive use until :meth:`release`.

        Raises:
            the driver's exception when a new connection cannot be opened.
        """

    @abstractmethod
    def release(self, connection: Connection, reusable: bool = True) -> None:
        """Take a connection back; ``reusable=False`` (it failed) closes it instead."""

    @abstractmethod
    def close(self) -> None:
        """Close idle connections; connections still out are closed when released."""


class SimplePool(ConnectionPool):
    """A pool that opens connections on demand and keeps up to ``max_idle`` of them idle.

    Args:
        factory: opens one new connection.
        max_idle: idle connections kept for reuse; more are closed on release.
    """

    def __init__(self, factory: Callable[[], Connection], max_idle: int = 4) -> None:
        self.factory = factory
        self.max_idle = max_idle
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> Connection:
        """An idle connection, or a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self.factory()

    def release(self, connection: Connection, reusable: bool = True) -> None:
        """Keep the connection idle (up to ``max_idle``) or close it."""
        with self._lock:
            if reusable and not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection; later releases close theirs."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
