"""The systems under test: pytuck on each engine, and the peers.

A system is named by a spec: ``"pytuck:<engine>"`` for pytuck on any engine
registered with ``pytuck.engines.register_engine`` (opened by name through
``Storage``), or one of :data:`PEERS`. Each adapter module imports only its own
library, so a worker process loads nothing it does not measure.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from benchmarks.harness import System

__all__ = ["PEERS", "build_system"]

#: Peer name -> (module, class) of its adapter.
PEERS: dict[str, tuple[str, str]] = {
    "tinydb": ("benchmarks.systems.tinydb_system", "TinyDBSystem"),
    "sqlalchemy": ("benchmarks.systems.sqlalchemy_system", "SQLAlchemySystem"),
    "peewee": ("benchmarks.systems.peewee_system", "PeeweeSystem"),
    "sqlite3": ("benchmarks.systems.sqlite3_system", "SQLite3System"),
}


def build_system(
    spec: str,
    folder: Path,
    *,
    peer_storage: str = "memory",
    insert_method: str = "add_all",
    dsn: str | None = None,
) -> System:
    """The adapter for ``spec`` (not opened yet).

    Args:
        spec: ``"pytuck:<engine>"`` or a peer name.
        folder: a temporary folder for database files.
        peer_storage: ``"memory"`` or ``"file"``, for peers.
        insert_method: pytuck's bulk insert path (``"add_all"`` or ``"bulk_insert"``).
        dsn: the server DSN for server engines (``postgresql``).

    Raises:
        ValueError: an unknown spec.
    """
    if spec.startswith("pytuck:"):
        module = importlib.import_module("benchmarks.systems.pytuck_system")
        pytuck_system: System = module.PytuckSystem(
            spec.split(":", 1)[1], folder, dsn=dsn, insert_method=insert_method
        )
        return pytuck_system
    if spec not in PEERS:
        raise ValueError(f"unknown system {spec!r}; use pytuck:<engine> or one of {', '.join(PEERS)}")
    module_name, class_name = PEERS[spec]
    factory = getattr(importlib.import_module(module_name), class_name)
    system: System = factory(peer_storage, folder)
    if peer_storage != "memory":
        system.label = f"{system.label}[file]"
    return system
