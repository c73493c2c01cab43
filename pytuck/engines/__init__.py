"""Storage engines and their registry. Importing this package registers them."""

from pytuck.engines import binary as _binary  # noqa: F401  (registers "binary", alias "pytuck")
from pytuck.engines import json as _json  # noqa: F401  (registers "json")
from pytuck.engines import memory as _memory  # noqa: F401  (registers "memory")
from pytuck.engines import sql as _sql  # noqa: F401  (registers "sqlite"; "duckdb", "postgresql" when their drivers import)
from pytuck.engines.base import (
    Capabilities,
    Engine,
    EngineTransaction,
    available_engines,
    engine_class,
    register_engine,
)

__all__ = [
    "Capabilities",
    "Engine",
    "EngineTransaction",
    "available_engines",
    "engine_class",
    "register_engine",
]
