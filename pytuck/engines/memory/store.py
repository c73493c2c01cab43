"""Committed tables of the memory engine: rows, indexes, unique constraints, keys.

A :class:`TableStore` holds the committed state of one table. Transactions
never write here directly: they keep their changes apart and
:meth:`TableStore.apply` merges a committed change set, under the engine lock.
Each row remembers the commit sequence number that last wrote it, so a
transaction can tell that a row changed after it began (first committer wins).

A store may be *deferred*: its committed rows are still in a file (the paged
snapshot of a file engine) and :attr:`TableStore.deferred` reads them. Its
schema, keys and next key are known, ``rows``, ``versions`` and ``indexes``
are empty: :meth:`TableStore.load` brings the rows in and builds the
indexes, and the engine calls it before anything needs the whole table.
A lookup by key (:meth:`DeferredRows.row`) needs no load.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pytuck.engines.memory.executor import column_projection
from pytuck.engines.memory.indexes import HashIndex, SortedIndex
from pytuck.schema import TableSchema
from pytuck.types import is_json_type

__all__ = ["TableStore", "DeferredRows", "REBUILD_THRESHOLD"]

#: A change set touching more rows than this rebuilds sorted indexes in one
#: sort instead of inserting key by key (a 100k-row bulk load: one sort).
REBUILD_THRESHOLD = 2_000


class DeferredRows(Protocol):
    """The committed rows of a deferred table, still in a file (see the module docstring)."""

    def row(self, pk: Any) -> dict[str, Any] | None:
        """The committed row with key ``pk``, or None, without loading the table.

        Raises:
            TypeError: ``pk`` is unhashable.
        """

    def note(self, changes: Iterable[tuple[Any, dict[str, Any] | None]], sequence: int) -> None:
        """Keep committed changes on top of the file's rows (``(pk, None)``: deleted)."""

    def load_into(self, store: TableStore) -> None:
        """Give ``store`` every committed row through :meth:`TableStore.adopt`."""


class TableStore:
    """Committed rows of one table with their indexes.

    Args:
        schema: the table's schema.
        deferred: the rows, if they are still in a file (the store starts deferred).
    """

    def __init__(self, schema: TableSchema, deferred: DeferredRows | None = None) -> None:
        self.schema = schema
        self.primary_key = schema.primary_key
        self.rows: dict[Any, dict[str, Any]] = {}
        self.versions: dict[Any, int] = {}
        self.next_id = 1
        #: Where the committed rows are while the table is deferred; None once loaded.
        self.deferred = deferred
        # The row as a tuple in column order, documents decoded: what get() returns.
        self.project = column_projection(
            tuple((c.name, is_json_type(c.type)) for c in schema.columns)
        )
        self.unique_columns: tuple[str, ...] = tuple(
            c.name for c in schema.columns if c.unique and not c.primary_key
        )
        self.indexes = self._new_indexes()

    def _new_indexes(self) -> dict[str, HashIndex | SortedIndex]:
        indexes: dict[str, HashIndex | SortedIndex] = {}
        for column in self.schema.columns:
            if column.primary_key:
                continue
            if column.index == "sorted":
                indexes[column.name] = SortedIndex(column.name, column.type)
            elif column.index == "hash" or column.unique:
                indexes[column.name] = HashIndex(column.name, column.type)
        return indexes

    def load(self) -> None:
        """Bring the rows of a deferred table into memory, indexes built; nothing if not deferred.

        The engine calls it under its lock. If it raises (a damaged file), the
        table stays deferred.
        """
        deferred = self.deferred
        if deferred is not None:
            deferred.load_into(self)
            self.deferred = None

    def adopt(self, rows: dict[Any, dict[str, Any]], versions: dict[Any, int]) -> None:
        """Take ``rows`` (key -> row) as the committed rows, each index built with one sort.

        Nothing changes if it raises.

        Raises:
            KeyError: a row lacks an indexed column.
            TypeError: an indexed column holds values that cannot be ordered together.
        """
        indexes = self._new_indexes()
        for name, index in indexes.items():
            index.rebuild((row[name], pk) for pk, row in rows.items())
        self.rows = rows
        self.versions = versions
        self.indexes = indexes

    def owner_of(self, column: str, value: Any) -> set[Any]:
        """Keys of committed rows holding ``value`` in ``column`` (a unique column)."""
        index = self.indexes[column]
        return index.equal(value)

    def reserve_key(self, pk: Any) -> None:
        """Note an explicit integer key so that assigned keys never reuse it."""
        if isinstance(pk, int) and not isinstance(pk, bool) and pk >= self.next_id:
            self.next_id = pk + 1

    def apply(self, changes: Iterable[tuple[Any, dict[str, Any] | None]], sequence: int) -> None:
        """Merge committed changes: ``(pk, row)`` sets a row, ``(pk, None)`` deletes it.

        A deferred table keeps them on top of its file's rows until it loads.
        """
        if self.deferred is not None:
            self.deferred.note(changes, sequence)
            return
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
