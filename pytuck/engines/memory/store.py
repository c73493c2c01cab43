"""Committed tables of the memory engine: rows, indexes, unique constraints, keys.

A :class:`TableStore` holds the committed state of one table. Transactions
never write here directly: they keep their changes apart and
:meth:`TableStore.apply` merges a committed change set, under the engine lock.
Each row remembers the commit sequence number that last wrote it, so a
transaction can tell that a row changed after it began (first committer wins).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pytuck.engines.memory.executor import column_projection
from pytuck.engines.memory.indexes import HashIndex, SortedIndex
from pytuck.schema import TableSchema
from pytuck.types import is_json_type

__all__ = ["TableStore", "REBUILD_THRESHOLD"]

#: A change set touching more rows than this rebuilds sorted indexes in one
#: sort instead of inserting key by key (a 100k-row bulk load: one sort).
REBUILD_THRESHOLD = 2_000


class TableStore:
    """Committed rows of one table with their indexes."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.primary_key = schema.primary_key
        self.rows: dict[Any, dict[str, Any]] = {}
        self.versions: dict[Any, int] = {}
        self.next_id = 1
        self.indexes: dict[str, HashIndex | SortedIndex] = {}
        # The row as a tuple in column order, documents decoded: what get() returns.
        self.project = column_projection(
            tuple((c.name, is_json_type(c.type)) for c in schema.columns)
        )
        self.unique_columns: tuple[str, ...] = tuple(
            c.name for c in schema.columns if c.unique and not c.primary_key
        )
        for column in schema.columns:
            if column.primary_key:
                continue
            if column.index == "sorted":
                self.indexes[column.name] = SortedIndex(column.name, column.type)
            elif column.index == "hash" or column.unique:
                self.indexes[column.name] = HashIndex(column.name, column.type)

    def owner_of(self, column: str, value: Any) -> set[Any]:
        """Keys of committed rows holding ``value`` in ``column`` (a unique column)."""
        index = self.indexes[column]
        return index.equal(value)

    def reserve_key(self, pk: Any) -> None:
        """Note an explicit integer key so that assigned keys never reuse it."""
        if isinstance(pk, int) and not isinstance(pk, bool) and pk >= self.next_id:
            self.next_id = pk + 1

    def apply(self, changes: Iterable[tuple[Any, dict[str, Any] | None]], sequence: int) -> None:
        """Merge committed changes: ``(pk, row)`` sets a row, ``(pk, None)`` deletes it."""
        changes = list(changes)
        bulk = len(changes) > REBUILD_THRESHOLD and bool(self.indexes)
        rows = self.rows
        versions = self.versions
        if bulk:
            for pk, row in changes:
                if row is None:
                    rows.pop(pk, None)
                else:
                    rows[pk] = row
                versions[pk] = sequence
            for name, index in self.indexes.items():
                index.rebuild((row[name], pk) for pk, row in rows.items())
            return
        indexes = list(self.indexes.items())
        for pk, row in changes:
            old = rows.get(pk)
            if old is not None:
                for name, index in indexes:
                    if row is None or old[name] != row[name] or type(old[name]) is not type(row[name]):
                        index.remove(old[name], pk)
                        if row is not None:
                            index.add(row[name], pk)
            elif row is not None:
                for name, index in indexes:
                    index.add(row[name], pk)
            if row is None:
                rows.pop(pk, None)
            else:
                rows[pk] = row
            versions[pk] = sequence
