"""The memory engine: committed tables in dicts, transactions kept apart until commit.

Isolation: a transaction's writes live in its own overlay (per table, primary
key -> new row or None for deleted) and are merged into the committed tables
only by :meth:`MemoryTransaction.commit`, under the engine lock. Reads see the
committed tables plus the transaction's own overlay, so no session ever sees
another's uncommitted rows, and a commit is never seen half-applied.

Lost updates: every committed row remembers the commit sequence that last
wrote it. Writing a row that another transaction committed after this one
began raises :class:`~pytuck.errors.ConflictError` (first committer wins, as
PostgreSQL's repeatable read does); the session rolls back and the caller
retries. A key the engine assigned to a new row that a concurrent commit took
first (an explicit key in this process, or another process's commit in the
file engines) is a ``ConflictError`` as well: a retry gets a fresh key.

Savepoints are positions in an undo log of overlay changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

import msgpack

from pytuck.engines.base import Capabilities, Engine, EngineTransaction, register_engine
from pytuck.engines.memory.executor import compile_assignment, compile_condition, run_select
from pytuck.engines.memory.indexes import SortedIndex
from pytuck.engines.memory.planner import candidate_keys, plan
from pytuck.engines.memory.store import TableStore
from pytuck.errors import (
    ConfigurationError,
    ConflictError,
    DuplicateKeyError,
    IntegrityError,
    SchemaError,
    TableNotFoundError,
    TransactionError,
    ValidationError,
)
from pytuck.query.expressions import ColumnRef, Expression
from pytuck.query.statements import Delete, Select, Update
from pytuck.schema import TableSchema
from pytuck.types import is_json_type

__all__ = ["MemoryEngine", "MemoryTransaction", "encode_document", "decode_document"]

_ABSENT = object()
Row = dict[str, Any]


def encode_document(value: Any) -> bytes | None:
    """The stored form of a JSON document: its msgpack bytes (None stays None).

    Committed rows hold documents encoded, for two reasons: a reader always
    gets a fresh copy, so no caller can mutate stored data; and rows made of
    atomic values only are not tracked by Python's cyclic garbage collector,
    so a large table costs nothing at each full collection (perf-facts.md,
    section 2: the collector's surcharge grows with the heap).
    """
    # msgpack, not orjson: orjson over-allocates its output buffer, which costs
    # ~1.5 µs per document once results are kept (measured), msgpack ~0.25 µs.
    return None if value is None else msgpack.packb(value)


def decode_document(stored: bytes | None) -> Any:
    """The JSON document of a stored value (a new object on every call)."""
    return None if stored is None else msgpack.unpackb(stored)


class _Overlay:
    """One table's uncommitted changes in one transaction."""

    __slots__ = ("rows", "unique", "inserted", "assigned")

    def __init__(self, unique_columns: Sequence[str]) -> None:
        self.rows: dict[Any, Row | None] = {}
        self.unique: dict[str, dict[Any, Any]] = {name: {} for name in unique_columns}
        self.inserted: set[Any] = set()
        # Keys the engine assigned (not chosen by the caller): if one is
        # taken at commit, the clash is a conflict to retry, not a duplicate.
        self.assigned: set[Any] = set()


class MemoryTransaction(EngineTransaction):
    """A transaction of the memory engine (see the module docstring)."""

    def __init__(self, engine: MemoryEngine) -> None:
        self.engine = engine
        self.start_sequence = engine.sequence
        self.overlays: dict[str, _Overlay] = {}
        self.undo: list[tuple[str, Any, Any, bool]] = []
        self.closed = False

    # --- helpers -------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise TransactionError("this transaction is already committed or rolled back")

    def _store(self, table: TableSchema) -> TableStore:
        return self.engine.store(table.name)

    def _overlay(self, store: TableStore) -> _Overlay:
        overlay = self.overlays.get(store.schema.name)
        if overlay is None:
            overlay = self.overlays[store.schema.name] = _Overlay(store.unique_columns)
        return overlay

    def _visible(self, store: TableStore, pk: Any) -> Row | None:
        overlay = self.overlays.get(store.schema.name)
        if overlay is not None and pk in overlay.rows:
            return overlay.rows[pk]
        deferred = store.deferred
        if deferred is not None:  # a table still in its file: read the one row
            return deferred.row(pk)
        return store.rows.get(pk)

    def _set(self, store: TableStore, overlay: _Overlay, pk: Any, row: Row | None, fresh: bool) -> None:
        previous = overlay.rows.get(pk, _ABSENT)
        self.undo.append((store.schema.name, pk, previous, pk in overlay.inserted))
        self._place(overlay, pk, previous, row)
        if fresh:
            overlay.inserted.add(pk)

    def _place(self, overlay: _Overlay, pk: Any, previous: Any, row: Row | None) -> None:
        for name, owners in overlay.unique.items():
            if isinstance(previous, dict) and previous[name] is not None:
                if owners.get(previous[name]) == pk:
                    del owners[previous[name]]
            if row is not None and row[name] is not None:
                owners[row[name]] = pk
        overlay.rows[pk] = row

    def _check_conflict(self, store: TableStore, pk: Any) -> None:
        version = store.versions.get(pk, 0)
        if version > self.start_sequence:
            raise ConflictError(
                f"{store.schema.name}: row {pk!r} was changed by another transaction that "
                "committed after this one began; roll back and retry",
                table_name=store.schema.name,
                pk=pk,
            )

    def _check_row(self, store: TableStore, overlay: _Overlay, pk: Any, row: Row) -> None:
        schema = store.schema
        for column in schema.columns:
            if not column.nullable and row[column.name] is None and not column.primary_key:
                raise ValidationError(
                    f"{schema.name}.{column.name}: NULL is not allowed (nullable=False)",
                    table_name=schema.name,
                    column_name=column.name,
                    pk=pk,
                )
        for name in store.unique_columns:
            value = row[name]
            if value is None:
                continue
            holder = overlay.unique[name].get(value, _ABSENT)
            if holder is not _ABSENT and holder != pk:
                raise _duplicate(schema.name, name, value)
            for owner in store.owner_of(name, value):
                if owner != pk and owner not in overlay.rows:
                    raise _duplicate(schema.name, name, value)

    def _copy_out(self, store: TableStore, row: Row) -> tuple[Any, ...]:
        return store.project(row)

    # --- reads ---------------------------------------------------------------
    def _rows(self, store: TableStore, keys: set[Any] | None) -> Iterator[Row]:
        """Visible rows: committed ones (those in ``keys``, or all) plus this
        transaction's changed rows, which the planner's keys never cover."""
        overlay = self.overlays.get(store.schema.name)
        committed = store.rows
        if overlay is None or not overlay.rows:
            if keys is None:
                return iter(committed.values())
            return (committed[k] for k in keys if k in committed)
        changed = overlay.rows
        if keys is None:
            base: Iterable[Row] = (r for pk, r in committed.items() if pk not in changed)
        else:
            base = (committed[k] for k in keys if k in committed and k not in changed)
        return chain(base, (r for r in changed.values() if r is not None))

    def select(self, statement: Select[Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT over committed rows plus this transaction's changes."""
        with self.engine.lock:
            self._check_open()
            store = self._store(statement.table)
            walked = self._index_walk(store, statement)
            if walked is not None:
                return run_select(statement, walked, presorted=True)
            keys, exact = plan(statement.where_clause, store)
            overlay = self.overlays.get(store.schema.name)
            # An exact plan over committed rows only: the rows are the matches.
            filtered = exact and keys is not None and (overlay is None or not overlay.rows)
            return run_select(statement, self._rows(store, keys), filtered=filtered)

    def _index_walk(self, store: TableStore, statement: Select[Any]) -> list[Row] | None:
        # ORDER BY one sorted-indexed column with a LIMIT: walk the index in
        # order and stop once enough rows match, instead of sorting them all.
        if (
            statement.limit_count is None
            or len(statement.order_terms) != 1
            or statement.is_aggregate
            or statement.is_distinct
        ):
            return None
        overlay = self.overlays.get(store.schema.name)
        if overlay is not None and overlay.rows:
            return None
        ordering = statement.order_terms[0]
        element = ordering.element
        if not isinstance(element, ColumnRef):
            return None
        index = store.indexes.get(element.name)
        if not isinstance(index, SortedIndex):
            return None
        matches = compile_condition(statement.where_clause)
        wanted = statement.offset_count + statement.limit_count
        rows = store.rows
        nulls_first = ordering.nulls_go_first
        null_rows: Iterable[Row] = (rows[pk] for pk in index.nulls)
        ordered: Iterable[Row] = (rows[pk] for pk in index.in_order(ordering.descending))
        sequence = chain(null_rows, ordered) if nulls_first else chain(ordered, null_rows)
        picked: list[Row] = []
        for row in sequence:
            if matches is None or matches(row):
                picked.append(row)
                if len(picked) >= wanted:
                    break
        return picked

    def get(self, table: TableSchema, pk: Any) -> tuple[Any, ...] | None:
        """The visible row with key ``pk``, or None."""
        with self.engine.lock:
            self._check_open()
            store = self.engine.store(table.name, whole=False)
            try:
                row = self._visible(store, pk)
            except TypeError:  # an unhashable key matches nothing
                return None
            return None if row is None else self._copy_out(store, row)

    # --- writes --------------------------------------------------------------
    def insert(self, table: TableSchema, rows: Sequence[Row]) -> list[Any]:
        """Insert rows; assign integer keys left empty (see the engine interface)."""
        with self.engine.lock:
            self._check_open()
            store = self._store(table)
            overlay = self._overlay(store)
            schema = store.schema
            key = schema.primary_key
            autoincrement = schema.column(key).autoincrement
            names = schema.column_names
            json_columns = self.engine.json_columns(store)
            keys: list[Any] = []
            for given in rows:
                row = {name: given.get(name) for name in names}
                for name in json_columns:
                    row[name] = encode_document(row[name])
                pk = row[key]
                if pk is None:
                    if not autoincrement:
                        raise IntegrityError(
                            f"{schema.name}.{key}: a primary key is required for this table "
                            "(only integer keys are assigned automatically)",
                            table_name=schema.name,
                            column_name=key,
                        )
                    pk = row[key] = store.next_id
                    store.next_id += 1
                    overlay.assigned.add(pk)
                else:
                    if self._visible(store, pk) is not None:
                        raise _duplicate(schema.name, key, pk, is_key=True)
                    if autoincrement:
                        store.reserve_key(pk)
                    overlay.assigned.discard(pk)
                self._check_row(store, overlay, pk, row)
                self._set(store, overlay, pk, row, fresh=True)
                keys.append(pk)
            return keys

    def update_rows(self, table: TableSchema, changes: Sequence[tuple[Any, Row]]) -> int:
        """Set values on rows by key; return how many rows existed."""
        with self.engine.lock:
            self._check_open()
            store = self._store(table)
            return self._update_rows(store, changes)

    def _update_rows(self, store: TableStore, changes: Iterable[tuple[Any, Row]]) -> int:
        overlay = self._overlay(store)
        json_columns = self.engine.json_columns(store)
        count = 0
        for pk, values in changes:
            current = self._visible(store, pk)
            if current is None:
                continue
            if pk not in overlay.rows:
                self._check_conflict(store, pk)
            row = dict(current)
            for name, value in values.items():
                row[name] = encode_document(value) if name in json_columns else value
            self._check_row(store, overlay, pk, row)
            self._set(store, overlay, pk, row, fresh=False)
            count += 1
        return count

    def delete_rows(self, table: TableSchema, pks: Sequence[Any]) -> int:
        """Delete rows by key; return how many existed."""
        with self.engine.lock:
            self._check_open()
            store = self._store(table)
            return self._delete_rows(store, pks)

    def _delete_rows(self, store: TableStore, pks: Iterable[Any]) -> int:
        overlay = self._overlay(store)
        count = 0
        for pk in pks:
            if self._visible(store, pk) is None:
                continue
            if pk not in overlay.rows:
                self._check_conflict(store, pk)
            self._set(store, overlay, pk, None, fresh=False)
            count += 1
        return count

    def _matching(self, store: TableStore, where: Expression | None) -> list[Row]:
        matches = compile_condition(where)
        rows = self._rows(store, candidate_keys(where, store))
        return [row for row in rows if matches is None or matches(row)]

    def update(self, statement: Update) -> int:
        """Run an UPDATE; return the number of rows matched."""
        with self.engine.lock:
            self._check_open()
            store = self._store(statement.table)
            key = store.primary_key
            setters = [
                (name, compile_assignment(expr, store.schema.column(name).type))
                for name, expr in statement.assignments
            ]
            changes = []
            for row in self._matching(store, statement.where_clause):
                changes.append((row[key], {name: fn(row) for name, fn in setters}))
            return self._update_rows(store, changes)

    def delete(self, statement: Delete) -> int:
        """Run a DELETE; return the number of rows removed."""
        with self.engine.lock:
            self._check_open()
            store = self._store(statement.table)
            key = store.primary_key
            doomed = [row[key] for row in self._matching(store, statement.where_clause)]
            return self._delete_rows(store, doomed)

    # --- savepoints and the end ------------------------------------------------
    def savepoint(self) -> int:
        """A savepoint is the current length of the undo log."""
        self._check_open()
        return len(self.undo)

    def rollback_to(self, token: Any) -> None:
        """Undo overlay changes back to the savepoint."""
        with self.engine.lock:
            self._check_open()
            while len(self.undo) > token:
                table_name, pk, previous, was_inserted = self.undo.pop()
                overlay = self.overlays[table_name]
                current = overlay.rows.get(pk, _ABSENT)
                for name, owners in overlay.unique.items():
                    if isinstance(current, dict) and current[name] is not None:
                        if owners.get(current[name]) == pk:
                            del owners[current[name]]
                    if isinstance(previous, dict) and previous[name] is not None:
                        owners[previous[name]] = pk
                if previous is _ABSENT:
                    overlay.rows.pop(pk, None)
                else:
                    overlay.rows[pk] = previous
                if not was_inserted:
                    overlay.inserted.discard(pk)

    def release(self, token: Any) -> None:
        """Savepoints cost nothing to keep; releasing only checks the state."""
        self._check_open()

    def commit(self) -> None:
        """Check conflicts and constraints against what others committed, then merge."""
        with self.engine.lock:
            self._check_open()
            change_sets: list[tuple[TableStore, list[tuple[Any, Row | None]]]] = []
            for table_name, overlay in self.overlays.items():
                if not overlay.rows:
                    continue
                store = self.engine.store(table_name)
                for pk in overlay.rows:
                    if store.versions.get(pk, 0) > self.start_sequence:
                        if pk in overlay.inserted and pk in store.rows:
                            if pk in overlay.assigned:
                                raise ConflictError(
                                    f"{table_name}: the key {pk!r} assigned to a new row was taken "
                                    "by a commit of another transaction or process; roll back and retry",
                                    table_name=table_name,
                                    pk=pk,
                                )
                            raise _duplicate(table_name, store.primary_key, pk, is_key=True)
                        self._check_conflict(store, pk)
                for name in store.unique_columns:
                    for value, pk in overlay.unique[name].items():
                        for owner in store.owner_of(name, value):
                            if owner != pk and owner not in overlay.rows:
                                raise _duplicate(table_name, name, value)
                change_sets.append((store, list(overlay.rows.items())))
            if change_sets:
                sequence = self.engine.sequence + 1
                self.engine.persist(sequence, [(s.schema.name, c) for s, c in change_sets])
                for store, changes in change_sets:
                    store.apply(changes, sequence)
                self.engine.sequence = sequence
            self._finish()

    def rollback(self) -> None:
        """Drop every change of the transaction."""
        with self.engine.lock:
            self._finish()

    def _finish(self) -> None:
        self.overlays = {}
        self.undo = []
        self.closed = True


def _duplicate(table: str, column: str, value: Any, is_key: bool = False) -> DuplicateKeyError:
    return DuplicateKeyError(
        f"{table}.{column}: the value {value!r} is already taken "
        f"({'primary key' if is_key else 'unique'}); use another value, or update the existing row",
        table_name=table,
        column_name=column,
        pk=value if is_key else None,
        details={"value": value},
    )


class MemoryEngine(Engine):
    """Tables in memory, gone when the process ends. The base of the file engines."""

    name = "memory"
    capabilities = Capabilities(persistent=False, sql=False)

    def __init__(self, path: str | None = None, **options: Any) -> None:
        if options:
            raise ConfigurationError(f"the memory engine takes no options, got {sorted(options)}")
        self.location = path
        self.lock = threading.RLock()
        self.tables: dict[str, TableStore] = {}
        self.sequence = 0
        self._json_columns: dict[str, frozenset[str]] = {}
        self.closed = False

    def store(self, name: str, whole: bool = True) -> TableStore:
        """The committed store of table ``name``.

        Args:
            name: the table.
            whole: load a deferred table (one whose rows are still in a file:
                see :mod:`pytuck.engines.memory.store`) first. False only for
                lookups by key, which a deferred table answers itself.

        Raises:
            TableNotFoundError: no such table.
            CorruptDatabaseError: the rows of a deferred table are damaged in its file.
        """
        try:
            store = self.tables[name]
        except KeyError:
            raise TableNotFoundError(
                f"table {name!r} does not exist; declare its model or create it first",
                table_name=name,
            ) from None
        if whole and store.deferred is not None:
            store.load()
        return store

    def json_columns(self, store: TableStore) -> frozenset[str]:
        """Stored names of the JSON document columns of a table."""
        names = self._json_columns.get(store.schema.name)
        if names is None:
            names = frozenset(c.name for c in store.schema.columns if is_json_type(c.type))
            self._json_columns[store.schema.name] = names
        return names

    def persist(self, sequence: int, changes: list[tuple[str, list[tuple[Any, Row | None]]]]) -> None:
        """Hook for durable subclasses: write a committed change set before it is applied."""

    def ensure_table(self, schema: TableSchema) -> TableSchema:
        """Create the table, or check the stored one agrees with ``schema``."""
        with self.lock:
            existing = self.tables.get(schema.name)
            if existing is not None:
                problems = schema.differences(existing.schema)
                if problems:
                    raise SchemaError(
                        f"table {schema.name!r} disagrees with its model: " + "; ".join(problems),
                        table_name=schema.name,
                    )
                return existing.schema
            self.tables[schema.name] = TableStore(schema)
            self._json_columns.pop(schema.name, None)
            self.schema_changed()
            return schema

    def schema_changed(self) -> None:
        """Hook for durable subclasses: the set of tables changed."""

    def table_schema(self, name: str) -> TableSchema | None:
        """The schema of table ``name``, or None."""
        store = self.tables.get(name)
        return None if store is None else store.schema

    def table_names(self) -> list[str]:
        """Names of the tables."""
        return list(self.tables)

    def drop_table(self, name: str) -> None:
        """Remove a table and its rows."""
        with self.lock:
            if self.tables.pop(name, None) is not None:
                self._json_columns.pop(name, None)
                self.schema_changed()

    def begin(self) -> MemoryTransaction:
        """Start a transaction."""
        if self.closed:
            raise TransactionError("this storage is closed; open a new Storage to use it")
        return MemoryTransaction(self)

    def close(self) -> None:
        """Drop the data (a memory database lives as long as its storage)."""
        self.closed = True


register_engine("memory", MemoryEngine)
