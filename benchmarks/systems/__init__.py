"""The systems under test: pytuck on each engine, and the peers.

Two suites use them:

* the **workload** (``benchmarks.worker``): a system is named by a spec,
  ``"pytuck:<engine>"`` for pytuck on any engine registered with
  ``pytuck.engines.register_engine`` (opened by name through ``Storage``), or
  one of :data:`PEERS`. A peer runs in one or more *storage classes*
  (``memory``, ``file``, ``duckdb``, ``postgresql``): pytuck's engines are
  compared with the peers of their class.
* the **file suite** (``benchmarks.files``): durable single-row commits,
  open-and-first-query in a fresh process and size on disk, for the systems
  of :data:`FILE_SYSTEMS`.

Each adapter module imports only its own library, so a worker process loads
nothing it does not measure. This module imports no database library.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import System

__all__ = [
    "FILE_SYSTEMS",
    "PEERS",
    "STORAGE_CLASSES",
    "FileSpec",
    "PeerSpec",
    "build_system",
    "engine_class",
    "peer_label",
]

#: The storage classes of the workload, in report order.
STORAGE_CLASSES = ("memory", "file", "duckdb", "postgresql")


@dataclass(frozen=True)
class PeerSpec:
    """Where a workload peer's adapter lives and what it needs.

    Attributes:
        module: the adapter's module.
        cls: the adapter class, built as ``cls(storage_class, folder, dsn)``.
        storages: storage class -> the modules it must be able to import there
            (the orchestrator looks for them, in its own Python first, then
            in ``--peer-python``).
    """

    module: str
    cls: str
    storages: dict[str, tuple[str, ...]]


#: Workload peer name -> its adapter.
PEERS: dict[str, PeerSpec] = {
    "tinydb": PeerSpec("benchmarks.systems.tinydb_system", "TinyDBSystem",
                       {"memory": ("tinydb",), "file": ("tinydb",)}),
    "sqlalchemy": PeerSpec("benchmarks.systems.sqlalchemy_system", "SQLAlchemySystem", {
        "memory": ("sqlalchemy",),
        "file": ("sqlalchemy",),
        "duckdb": ("sqlalchemy", "duckdb_engine"),
        "postgresql": ("sqlalchemy", "psycopg"),
    }),
    "peewee": PeerSpec("benchmarks.systems.peewee_system", "PeeweeSystem",
                       {"memory": ("peewee",), "file": ("peewee",)}),
    "sqlite3": PeerSpec("benchmarks.systems.sqlite3_system", "SQLite3System",
                        {"memory": ("sqlite3",), "file": ("sqlite3",)}),
    "duckdb": PeerSpec("benchmarks.systems.duckdb_system", "DuckDBSystem",
                       {"duckdb": ("duckdb", "pyarrow")}),
    "asyncpg": PeerSpec("benchmarks.systems.asyncpg_system", "AsyncpgSystem",
                        {"postgresql": ("asyncpg",)}),
}


def engine_class(engine: str, persistent: bool) -> str:
    """The storage class a pytuck engine is compared in.

    ``memory`` for in-memory engines, ``duckdb`` and ``postgresql`` for those
    engines, ``file`` for every other persistent engine (``binary``, ``json``,
    ``sqlite``: compared with peers on SQLite files).
    """
    if engine in ("duckdb", "postgresql"):
        return engine
    return "file" if persistent else "memory"


def peer_label(name: str, storage_class: str) -> str:
    """A peer's column heading: its name, plus ``[class]`` when it runs in several classes."""
    spec = PEERS[name]
    if storage_class == "memory" or len(spec.storages) == 1:
        return name
    return f"{name}[{storage_class}]"


def build_system(
    spec: str,
    folder: Path,
    *,
    peer_storage: str = "memory",
    insert_method: str = "add_all",
    dsn: str | None = None,
) -> System:
    """The workload adapter for ``spec`` (not opened yet).

    Args:
        spec: ``"pytuck:<engine>"`` or a peer name.
        folder: a temporary folder for database files.
        peer_storage: the storage class a peer runs in (see :data:`STORAGE_CLASSES`).
        insert_method: pytuck's bulk insert path (``"add_all"`` or ``"bulk_insert"``).
        dsn: the server DSN for PostgreSQL (pytuck's engine and the peers).

    Raises:
        ValueError: an unknown spec, or a storage class the peer does not have.
    """
    if spec.startswith("pytuck:"):
        module = importlib.import_module("benchmarks.systems.pytuck_system")
        pytuck_system: System = module.PytuckSystem(
            spec.split(":", 1)[1], folder, dsn=dsn, insert_method=insert_method
        )
        return pytuck_system
    if spec not in PEERS:
        raise ValueError(f"unknown system {spec!r}; use pytuck:<engine> or one of {', '.join(PEERS)}")
    peer = PEERS[spec]
    if peer_storage not in peer.storages:
        raise ValueError(f"{spec} has no {peer_storage!r} storage; it has {', '.join(peer.storages)}")
    factory = getattr(importlib.import_module(peer.module), peer.cls)
    system: System = factory(peer_storage, folder, dsn)
    system.label = peer_label(spec, peer_storage)
    return system


@dataclass(frozen=True)
class FileSpec:
    """A system of the file suite.

    Attributes:
        module: the adapter's module.
        cls: the :class:`benchmarks.file_store.FileStore` subclass, built as ``cls(variant)``.
        variant: what the spec names after the colon (an engine), or ``""``.
        requires: modules it must be able to import.
        python: ``"main"`` (the running interpreter) or ``"pytuck14"``
            (``--pytuck14-python``: Pytuck 1.4 has pytuck's import name).
    """

    module: str
    cls: str
    variant: str
    requires: tuple[str, ...]
    python: str = "main"


#: File-suite system name -> its adapter. ``pytuck:<engine>`` specs are built
#: for any engine (see :func:`benchmarks.files.file_spec`).
FILE_SYSTEMS: dict[str, FileSpec] = {
    "pytuck14:pytuck": FileSpec("benchmarks.systems.pytuck14_system", "Pytuck14Store", "pytuck",
                                ("pytuck",), "pytuck14"),
    "pytuck14:json": FileSpec("benchmarks.systems.pytuck14_system", "Pytuck14Store", "json",
                              ("pytuck",), "pytuck14"),
    "tinydb": FileSpec("benchmarks.systems.tinydb_system", "TinyDBStore", "", ("tinydb",)),
    "sqlite3": FileSpec("benchmarks.systems.sqlite3_system", "SQLite3Store", "", ("sqlite3",)),
    "msgpack": FileSpec("benchmarks.systems.baseline_system", "BlobStore", "msgpack", ("msgpack",)),
    "orjson": FileSpec("benchmarks.systems.baseline_system", "BlobStore", "orjson", ("orjson",)),
    "fsync": FileSpec("benchmarks.systems.baseline_system", "AppendFloor", "", ("msgpack",)),
}
