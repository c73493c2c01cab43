"""``Storage``: one database, on one engine, shared by sessions and models."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from pytuck.engines import available_engines, engine_class
from pytuck.engines.base import Engine
from pytuck.errors import ConfigurationError, ReadOnlyError, TableNotFoundError
from pytuck.schema import TableSchema

__all__ = ["Storage"]

DEFAULT_ENGINE = "binary"
_DSN_SCHEMES = ("postgresql://", "postgres://")


class Storage:
    """A database on one engine.

    Args:
        file_path: the database file, a PostgreSQL DSN, or None for memory.
        in_memory: keep everything in memory (``file_path`` is ignored).
        engine: ``"binary"`` (default for files; ``"pytuck"`` is the same),
            ``"json"``, ``"memory"``, ``"sqlite"``, and ``"duckdb"`` /
            ``"postgresql"`` when their extras are installed. A
            ``postgresql://`` DSN selects ``"postgresql"``.
        auto_flush: durable engines write each commit before it returns
            (the default). False trades that for speed: changes reach the disk
            on :meth:`flush` or :meth:`close`. SQL engines accept it and
            make every commit durable.
        read_only: refuse every write with :class:`~pytuck.errors.ReadOnlyError`.
        **options: engine-specific options (``postgresql``: ``schema``,
            ``connect_timeout``, ``min_size``, ``max_size``, ... — see
            docs/engines.md).

    Raises:
        ConfigurationError: unknown engine or contradictory arguments.

    Example::

        db = Storage("app.pytuck")          # binary file engine
        db = Storage(in_memory=True)        # memory engine
    """

    def __init__(
        self,
        file_path: str | os.PathLike[str] | None = None,
        in_memory: bool = False,
        engine: str | None = None,
        auto_flush: bool = True,
        read_only: bool = False,
        **options: Any,
    ) -> None:
        location = os.fspath(file_path) if file_path is not None else None
        if in_memory or location is None:
            if engine not in (None, "memory") and location is not None:
                raise ConfigurationError(
                    f"in_memory=True contradicts engine={engine!r}; drop one of them"
                )
            name = "memory"
            location = None
        elif engine is not None:
            name = engine
        elif location.startswith(_DSN_SCHEMES):
            name = "postgresql"
        else:
            name = DEFAULT_ENGINE
        factory = engine_class(name)
        if name != "memory":
            options.setdefault("auto_flush", auto_flush)
            options.setdefault("read_only", read_only)
        elif read_only:
            raise ConfigurationError("read_only=True makes no sense for a memory database")
        self.file_path: str | None = location
        self.in_memory = location is None
        self.auto_flush = auto_flush
        self.read_only = read_only
        self.engine: Engine = factory(location, **options)
        self.engine_name = self.engine.name
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._closed = False

    # --- models ---
    def register_model(self, model: Any) -> TableSchema:
        """Create (or check) a model's table and remember the model by table name.

        Raises:
            SchemaError: the stored table disagrees with the model.
        """
        schema: TableSchema = model.__table__
        if self.read_only and self.engine.table_schema(schema.name) is None:
            raise ReadOnlyError(
                f"table {schema.name!r} does not exist and this storage is read-only "
                f"({self.file_path}); open it writable once to create the table"
            )
        stored = self.engine.ensure_table(schema)  # an existing table is only compared
        with self._lock:
            self._models[schema.name] = model
        return stored

    def model_for(self, table_name: str) -> Any:
        """The model class declared for ``table_name``.

        Raises:
            TableNotFoundError: no model on this storage has that table.
        """
        try:
            return self._models[table_name]
        except KeyError:
            raise TableNotFoundError(
                f"no model on this storage has table {table_name!r}", table_name=table_name
            ) from None

    def model_named(self, name: str) -> Any:
        """The model class with class name or table name ``name``, or None."""
        if name in self._models:
            return self._models[name]
        for model in self._models.values():
            if model.__name__ == name:
                return model
        return None

    # --- tables ---
    def table_names(self) -> list[str]:
        """Names of the stored tables."""
        return self.engine.table_names()

    def drop_table(self, name: str) -> None:
        """Remove a table and its rows."""
        self._check_writable()
        self.engine.drop_table(name)
        self._models.pop(name, None)

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(f"this storage is read-only ({self.file_path}); open it without read_only=True to write")

    # --- lifecycle ---
    def flush(self) -> None:
        """Write buffered changes to disk (file engines with ``auto_flush=False``)."""
        self.engine.flush()

    def close(self) -> None:
        """Flush, then release files, locks and connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.engine.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run raw SQL on a SQL engine.

        Raises:
            UnsupportedOperationError: on document engines (memory, binary, json).
        """
        return self.engine.execute_sql(sql, params)

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.file_path or "memory"
        return f"<Storage engine={self.engine_name} at {where}>"

    @staticmethod
    def available_engines() -> list[str]:
        """Names of the engines this installation can open."""
        return available_engines()

