"""The SQL engines: one compiler, a dialect per database. Importing this package registers them.

``sqlite`` (standard library) is always registered. ``duckdb`` and
``postgresql`` register when their module is present and their driver
(``duckdb``, ``asyncpg``) imports; otherwise they are simply not available.
"""

from __future__ import annotations

import importlib
import importlib.util

from pytuck.engines.sql import sqlite as _sqlite  # noqa: F401  (registers "sqlite")

__all__: list[str] = []

#: Optional engine modules -> the driver each needs.
_OPTIONAL = {"duckdb": "duckdb", "postgresql": "asyncpg"}


def _load_optional() -> None:
    for module, driver in _OPTIONAL.items():
        name = f"{__name__}.{module}"
        if importlib.util.find_spec(name) is None or importlib.util.find_spec(driver) is None:
            continue
        importlib.import_module(name)


_load_optional()
