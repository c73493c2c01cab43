"""TinyDB, as its users write it: documents keyed by ``doc_id``, ``Query`` conditions.

TinyDB has no indexes, so every query is a scan, and its query cache is
turned off (``cache_size=0``) so that a repeated query is run again, as on
every other system. Documents hold only JSON types: ``created_at`` is stored
as ISO text, the primary key is the ``doc_id``.
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

from benchmarks.harness import System

__all__ = ["TinyDBSystem"]


class TinyDBSystem(System):
    """``insert_multiple``, ``get(doc_id=)``, ``search(Query()...)``, ``update``/``remove`` by doc id.

    Args:
        storage: ``"memory"`` (``MemoryStorage``) or ``"file"`` (the default
            ``JSONStorage``: every write rewrites the whole file).
        folder: a temporary folder for the file.
    """

    def __init__(self, storage: str, folder: Path) -> None:
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
        documents = []
        for row in rows:
            doc = {key: value for key, value in row.items() if key != "id"}
            doc["created_at"] = row["created_at"].isoformat()
            documents.append(Document(doc, doc_id=row["id"]))
        self.table.insert_multiple(documents)

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
