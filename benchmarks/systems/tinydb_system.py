"""TinyDB, as its users write it: documents keyed by ``doc_id``, ``Query`` conditions.

TinyDB has no indexes, so every query is a scan, and its query cache is
turned off (``cache_size=0``) so that a repeated query is run again, as on
every other system. Documents hold only JSON types: ``created_at`` is stored
as ISO text, the primary key is the ``doc_id``.

Its ``JSONStorage`` reads the whole file at every operation and, at every
write, serialises the whole database, writes it over the old file in place,
fsyncs and truncates: durable once the call returns, but a crash mid-write
leaves a torn file. :class:`TinyDBSystem` runs the workload,
:class:`TinyDBStore` the file suite.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tinydb
from tinydb import Query, TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Document

from benchmarks.file_store import FileStore
from benchmarks.harness import System

__all__ = ["TinyDBStore", "TinyDBSystem"]


def _document(row: dict[str, Any]) -> Document:
    doc = {key: value for key, value in row.items() if key != "id"}
    doc["created_at"] = row["created_at"].isoformat()
    return Document(doc, doc_id=row["id"])


class TinyDBSystem(System):
    """``insert_multiple``, ``get(doc_id=)``, ``search(Query()...)``, ``update``/``remove`` by doc id.

    Args:
        storage: ``"memory"`` (``MemoryStorage``) or ``"file"`` (the default
            ``JSONStorage``: every write rewrites the whole file).
        folder: a temporary folder for the file.
    """

    def __init__(self, storage: str, folder: Path, dsn: str | None = None) -> None:
        self.storage_class = storage
        self.storage = storage
        self.path = folder / "tinydb.json"
        self.label = "tinydb"
        self.notes = (
            f"TinyDB with {'MemoryStorage' if storage == 'memory' else 'JSONStorage'}, query cache off, "
            "no indexes (every query scans); group by emulated with collections.Counter"
        )

    def open(self) -> None:
        """Open the database and the users table."""
        if self.storage == "memory":
            self.db = TinyDB(storage=MemoryStorage)
        else:
            self.db = TinyDB(self.path)
        self.table = self.db.table("users", cache_size=0)
        self.q = Query()

    def versions(self) -> dict[str, str]:
        """TinyDB's version."""
        return {"tinydb": tinydb.__version__}

    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """``insert_multiple`` of documents with ``doc_id = id`` and ISO ``created_at``."""
        self.table.insert_multiple([_document(row) for row in rows])

    def get_each(self, keys: Sequence[int]) -> list[Any]:
        """``table.get(doc_id=key)`` per key."""
        get = self.table.get
        return [get(doc_id=key) for key in keys]

    def by_name(self, name: str) -> list[Any]:
        """``table.search(q.name == name)``."""
        return self.table.search(self.q.name == name)

    def by_city(self, city: str) -> list[Any]:
        """``table.search(q.city == city)``."""
        return self.table.search(self.q.city == city)

    def age_between(self, lo: int, hi: int) -> list[Any]:
        """``table.search((q.age >= lo) & (q.age <= hi))``."""
        q = self.q
        return self.table.search((q.age >= lo) & (q.age <= hi))

    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """``table.search((q.age < age) | (q.name == name))``."""
        q = self.q
        return self.table.search((q.age < age) | (q.name == name))

    def count_by_city(self) -> list[tuple[str, int]]:
        """``Counter(doc["city"] for doc in table)``."""
        return list(Counter(doc["city"] for doc in self.table).items())

    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """``table.update({...}, doc_ids=[key])`` per row (each a full storage write)."""
        update = self.table.update
        for key, age, score in changes:
            update({"age": age, "score": score}, doc_ids=[key])

    def delete_each(self, keys: Sequence[int]) -> None:
        """``table.remove(doc_ids=[key])`` per row (each a full storage write)."""
        remove = self.table.remove
        for key in keys:
            remove(doc_ids=[key])

    def ident(self, item: Any) -> int:
        """``document.doc_id``."""
        return int(item.doc_id)

    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` of the existing keys."""
        found = [self.table.get(doc_id=key) for key in keys]
        return [(doc.doc_id, doc["age"], doc["score"]) for doc in found if doc is not None]

    def row_count(self) -> int:
        """``len(table)``."""
        return len(self.table)

    def close(self) -> None:
        """Close the database."""
        self.db.close()


class TinyDBStore(FileStore):
    """TinyDB's default ``JSONStorage`` for the file suite: ``TinyDB(path)``, table ``users``.

    Each insert is ``table.insert(Document(..., doc_id=id))``: TinyDB reads the
    whole file, then rewrites it, flushes and fsyncs before returning.

    Args:
        variant: unused (``""``).
    """

    label = "tinydb"
    suffix = ".json"
    notes = ("TinyDB(path) with its default JSONStorage: every insert rereads the whole file, "
             "rewrites it in place and fsyncs (durable when it returns, not crash-safe: a crash "
             "mid-write tears the file); bulk build via insert_multiple; lookup by doc_id")

    def build(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """``TinyDB(path).table("users").insert_multiple(documents)``, then close."""
        db = TinyDB(path)
        if rows:
            db.table("users").insert_multiple([_document(row) for row in rows])
        db.close()

    def open(self, path: Path) -> None:
        """``TinyDB(path)`` and its ``users`` table (TinyDB reads the file at the first operation)."""
        self.db = TinyDB(path)
        self.table = self.db.table("users")

    def insert_one(self, row: dict[str, Any]) -> None:
        """``table.insert(document)``: a full read and rewrite of the file, then fsync."""
        self.table.insert(_document(row))

    def get(self, key: int) -> dict[str, Any] | None:
        """``table.get(doc_id=key)``."""
        doc = self.table.get(doc_id=key)
        if doc is None or isinstance(doc, list):
            return None
        return {"id": doc.doc_id, **doc}

    def count(self) -> int:
        """``len(table)``."""
        return len(self.table)

    def close(self) -> None:
        """``db.close()``."""
        self.db.close()

    def versions(self) -> dict[str, str]:
        """TinyDB's version."""
        return {"tinydb": tinydb.__version__}
