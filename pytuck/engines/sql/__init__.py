"""The SQL engines: one compiler, a dialect per database. Importing this package registers them.

``sqlite`` (standard library) is always registered. ``duckdb`` and
``postgresql`` are registered when their driver (``duckdb``, ``asyncpg``) is
installed, but their modules, and the drivers with them, are imported only
when such a storage is first opened: loading duckdb, pyarrow and asyncpg
costs about 190 ms, which a program using the file engines should not pay.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from pytuck.engines.base import Engine, engine_class, register_engine
from pytuck.engines.sql import sqlite as _sqlite  # noqa: F401  (registers "sqlite")

__all__: list[str] = []

#: Optional engines: name -> (module, driver it needs, aliases).
_OPTIONAL: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "duckdb": ("duckdb", "duckdb", ()),
    "postgresql": ("postgresql", "asyncpg", ("postgres",)),
}


def _opener(name: str, module: str) -> Any:
    """A factory that imports the engine's module (which registers the real
    class in its place) on first use, then opens through it."""

    def open_engine(path: str | None, **options: Any) -> Engine:
        importlib.import_module(f"{__name__}.{module}")
        return engine_class(name)(path, **options)

    return open_engine


def _register_optional() -> None:
    for name, (module, driver, aliases) in _OPTIONAL.items():
        if importlib.util.find_spec(driver) is None:
            continue
        register_engine(name, _opener(name, module), aliases=aliases)


_register_optional()
