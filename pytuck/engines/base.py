"""The engine interface every storage engine implements, and the registry.

An engine owns stored tables. The session talks to it through two objects:

* :class:`Engine` — one per :class:`~pytuck.Storage`: schema operations,
  ``begin()``, ``close()``.
* :class:`EngineTransaction` — one per session transaction: reads
  (``select``, ``get``), writes (``insert``, ``update_rows``, ``delete_rows``,
  statement ``update``/``delete``), savepoints, ``commit``/``rollback``.

Rows travel as plain data: writes take dicts keyed by stored column name,
reads return tuples in the order of ``Select.columns`` (or of the table's
columns for ``get``). Engines read schemas and expression trees; they never see
the session or model classes.

A new engine is one module that subclasses :class:`Engine` and calls
:func:`register_engine`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytuck.errors import ConfigurationError, UnsupportedOperationError
from pytuck.query.statements import Delete, Select, Update
from pytuck.schema import TableSchema

__all__ = [
    "Capabilities",
    "Engine",
    "EngineTransaction",
    "register_engine",
    "engine_class",
    "available_engines",
    "canonical_engine_name",
]


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, for callers and tests to branch on honestly.

    Attributes:
        persistent: data outlives the process.
        sql: the engine runs SQL (``Storage.execute_sql`` works).
        savepoints: ``begin_nested()`` is supported.
        multi_process: several processes may open the same database.
    """

    persistent: bool
    sql: bool
    savepoints: bool = True
    multi_process: bool = False


class EngineTransaction(ABC):
    """One transaction on an engine. Used by one thread at a time.

    Nothing it writes is visible to other transactions before :meth:`commit`;
    :meth:`rollback` undoes every write since it began.
    """

    @abstractmethod
    def select(self, statement: Select[Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT; rows are tuples in the order of ``statement.columns``."""

    @abstractmethod
    def get(self, table: TableSchema, pk: Any) -> tuple[Any, ...] | None:
        """The row with primary key ``pk`` as a tuple in table column order, or None."""

    @abstractmethod
    def insert(self, table: TableSchema, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """Insert rows (stored column name -> value); return their primary keys.

        An integer primary key that is absent or None is assigned by the
        engine, increasing and never reused.

        Raises:
            DuplicateKeyError: a primary key or unique value is taken.
        """

    @abstractmethod
    def update_rows(self, table: TableSchema, changes: Sequence[tuple[Any, dict[str, Any]]]) -> int:
        """Set new values on rows by primary key; return how many rows exist and changed."""

    @abstractmethod
    def delete_rows(self, table: TableSchema, pks: Sequence[Any]) -> int:
        """Delete rows by primary key; return how many existed."""

    @abstractmethod
    def update(self, statement: Update) -> int:
        """Run an UPDATE statement; return the number of rows matched."""

    @abstractmethod
    def delete(self, statement: Delete) -> int:
        """Run a DELETE statement; return the number of rows removed."""

    @abstractmethod
    def savepoint(self) -> Any:
        """Open a savepoint and return its token."""

    @abstractmethod
    def rollback_to(self, token: Any) -> None:
        """Undo everything since the savepoint ``token`` (which stays open)."""

    @abstractmethod
    def release(self, token: Any) -> None:
        """Forget the savepoint ``token``, keeping its changes in the transaction."""

    @abstractmethod
    def commit(self) -> None:
        """Make every change visible and (on durable engines) durable, atomically."""

    @abstractmethod
    def rollback(self) -> None:
        """Undo every change of the transaction."""


class Engine(ABC):
    """A storage engine: owns tables and hands out transactions.

    Subclasses set :attr:`name` and :attr:`capabilities` and are registered
    with :func:`register_engine`.
    """

    name: str = ""
    capabilities: Capabilities = Capabilities(persistent=False, sql=False)

    #: Where the data lives (a file path or a DSN), or None in memory.
    location: str | None = None

    @abstractmethod
    def ensure_table(self, schema: TableSchema) -> TableSchema:
        """Create the table if it is missing; return the schema as stored.

        Raises:
            SchemaError: the table exists and disagrees with ``schema``.
        """

    @abstractmethod
    def table_schema(self, name: str) -> TableSchema | None:
        """The stored schema of table ``name``, or None if there is no such table."""

    @abstractmethod
    def table_names(self) -> list[str]:
        """Names of the stored tables."""

    @abstractmethod
    def drop_table(self, name: str) -> None:
        """Remove table ``name`` and its rows (no error if it is absent)."""

    @abstractmethod
    def begin(self) -> EngineTransaction:
        """Start a transaction."""

    def flush(self) -> None:  # noqa: B027 - a no-op is right for engines with nothing to write
        """Push buffered changes to durable storage (file engines); no-op elsewhere."""

    @abstractmethod
    def close(self) -> None:
        """Release files, locks and connections. Further use raises."""

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run raw SQL (SQL engines only).

        Raises:
            UnsupportedOperationError: always, on document engines.
        """
        raise UnsupportedOperationError(
            f"the {self.name} engine is a document engine and runs no SQL; "
            "use select() statements instead"
        )


_REGISTRY: dict[str, Callable[..., Engine]] = {}
_ALIASES: dict[str, str] = {}


def register_engine(name: str, factory: Callable[..., Engine], aliases: Sequence[str] = ()) -> None:
    """Register an engine ``factory(path, **options)`` under ``name`` (and aliases)."""
    _REGISTRY[name] = factory
    for alias in aliases:
        _ALIASES[alias] = name


def canonical_engine_name(name: str) -> str:
    """Resolve an alias (``"pytuck"`` -> ``"binary"``) to the registered name."""
    return _ALIASES.get(name, name)


def engine_class(name: str) -> Callable[..., Engine]:
    """The factory registered under ``name``.

    Raises:
        ConfigurationError: no engine has that name; the message lists those that do.
    """
    canonical = canonical_engine_name(name)
    try:
        return _REGISTRY[canonical]
    except KeyError:
        known = sorted(set(_REGISTRY) | set(_ALIASES))
        raise ConfigurationError(
            f"unknown engine {name!r}; available engines: {', '.join(known)}"
        ) from None


def available_engines() -> list[str]:
    """Names of every registered engine."""
    return sorted(_REGISTRY)
