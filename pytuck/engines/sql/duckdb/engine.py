"""DuckdbTransaction and DuckdbEngine: transactions checked against the ledger, savepoints
by replay, and the engine registered as ``"duckdb"``."""

from __future__ import annotations

import copy
import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb

from pytuck.engines.base import Capabilities
from pytuck.engines.sql.connection import Connection, SimplePool
from pytuck.engines.sql.dialect import ErrorKind
from pytuck.engines.sql.duckdb.connection import (
    _KEYS_TABLE,
    DuckdbConnection,
    _close_database,
    _Database,
    _open_database,
    _Write,
)
from pytuck.engines.sql.duckdb.dialect import DuckdbDialect
from pytuck.engines.sql.duckdb.values import _datetime_to_driver, _register_functions, decimal_key
from pytuck.engines.sql.engine import SqlEngine, SqlTransaction, duplicate_error
from pytuck.errors import ConfigurationError, ConflictError, PytuckError
from pytuck.query.expressions import (
    Arithmetic,
    ColumnRef,
    Expression,
    FunctionCall,
    Label,
    Literal,
    Ordering,
)
from pytuck.query.statements import Delete, Select, Update
from pytuck.schema import TableSchema

__all__ = ["DuckdbTransaction", "DuckdbEngine"]

#: Rows per UPDATE ... FROM (VALUES ...) statement of update_rows().
_UPDATE_CHUNK = 500


# --- transactions ---------------------------------------------------------------------------


def _contains_aggregate(expr: Expression) -> bool:
    return any(isinstance(n, FunctionCall) and n.is_aggregate for n in expr.walk())


def _picked(expr: Expression) -> Expression:
    """``expr`` as one of its group's values: ``min(expr)`` (a Label keeps its name)."""
    if isinstance(expr, Label):
        return Label(_picked(expr.element), expr.name)
    if _contains_aggregate(expr) or not any(isinstance(n, ColumnRef) for n in expr.walk()):
        return expr
    return FunctionCall("min", (expr,), expr.type)


def _grouped_for_duckdb(statement: Select[Any]) -> Select[Any]:
    """A grouped SELECT whose plain items and order terms stand for their group's value.

    DuckDB binds a selected or ordered expression to a GROUP BY term only when
    the two are the same expression, and two bound values are never the same
    (``i % ?`` selected and grouped by are two parameters); Decimals group by
    their key, so a selected Decimal is not the grouped expression either.
    Then every plain item and order term is wrapped in ``min``, which picks one
    of the group's equal values, as the memory engine shows one of them.

    The compiler already writes an item that repeats a group term as that term
    and refers to it by position; this rewrite is for the rest: items and order
    terms derived from a group term (``i % ? + ?`` grouped by ``i % ?``, a
    Decimal ``dec + 1`` grouped by ``dec``) and order terms not selected.
    """
    if not any(
        term.type is Decimal or any(isinstance(n, Literal) for n in term.walk())
        for term in statement.group_terms
    ):
        return statement
    rewritten = copy.copy(statement)
    rewritten.items = tuple(
        _picked(item) if isinstance(item, Expression) else item for item in statement.items
    )
    rewritten.order_terms = tuple(
        Ordering(_picked(o.element), o.descending, o.nulls) for o in statement.order_terms
    )
    return rewritten


def _stored_assignments(statement: Update) -> Update:
    """An UPDATE whose expressions have the stored type of their column, as the
    memory engine casts on assignment: an int expression into a Decimal column
    becomes ``expr + Decimal(0)``, a Decimal one into a float column ``expr * 1.0``."""
    assignments = []
    changed = False
    for name, expr in statement.assignments:
        target = statement.table.column(name).type
        if not isinstance(expr, Literal):
            if target is Decimal and expr.type is int:
                expr = Arithmetic("add", expr, Literal(Decimal(0), Decimal), Decimal)
                changed = True
            elif target is float and expr.type is Decimal:
                expr = Arithmetic("mul", expr, Literal(1.0, float), float)
                changed = True
        assignments.append((name, expr))
    if not changed:
        return statement
    return Update(statement.entity, statement.where_clause, tuple(assignments))


class DuckdbTransaction(SqlTransaction):
    """A transaction on its own duckdb connection; savepoints replay the write log,
    and the ledger refuses writes over rows another transaction changed meanwhile."""

    def __init__(self, engine: DuckdbEngine, connection: DuckdbConnection) -> None:
        super().__init__(engine, connection)
        self.duck = connection
        self.duck_engine = engine
        self.ledger = engine.database.ledger
        self.start = self.ledger.begin()
        self.written: dict[str, set[Any]] = {}
        self._high_marked: set[str] = set()
        self._ended = False

    # --- reads ---
    def select(self, statement: Select[Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT inside the database (grouped Decimals picked, see above)."""
        if statement.group_terms:
            statement = _grouped_for_duckdb(statement)
        return super().select(statement)

    def get(self, table: TableSchema, pk: Any) -> tuple[Any, ...] | None:
        """The row with key ``pk`` (a Decimal key by value), or None."""
        if table.column(table.primary_key).type is not Decimal:
            return super().get(table, pk)
        self._check_open()
        self.engine.require_table(table.name)
        try:
            key = decimal_key(pk if isinstance(pk, Decimal) else Decimal(pk))
        except (TypeError, ValueError, InvalidOperation):
            return None
        q = self.dialect.quote
        columns = ", ".join(q(c) for c in table.column_names)
        sql = f"SELECT {columns} FROM {q(table.name)} WHERE {self.duck_engine.key_match(table)} = ?"
        try:
            rows = self.duck.fetch(sql, (key,))
        except duckdb.Error as exc:
            raise self._fail(exc, table) from exc
        if not rows:
            return None
        read = self.engine.row_reader(table)
        return tuple(rows[0]) if read is None else read(rows[0])

    # --- writes ---
    def _refuse_stale(self, table: TableSchema, keys: Iterable[tuple[Any, Any]]) -> None:
        """ConflictError for the first (ledger key, pk) changed by a later commit."""
        for key, pk in keys:
            if self.ledger.changed_since(self.start, table.name, key):
                raise ConflictError(
                    f"{table.name}: row {pk!r} was changed by another transaction that "
                    "committed after this one began; roll back and retry",
                    table_name=table.name,
                    pk=pk,
                )

    def _note_written(self, table: TableSchema, keys: Iterable[Any]) -> None:
        self.written.setdefault(table.name, set()).update(keys)

    def update_rows(self, table: TableSchema, changes: Sequence[tuple[Any, dict[str, Any]]]) -> int:
        """Set new values on rows by key, many rows per statement; return how many exist."""
        self._check_write("update rows of", table.name)
        self.engine.require_table(table.name)
        engine = self.duck_engine
        to_key, ledger_key = engine.key_binding(table)
        bound = [(to_key(pk), pk, new) for pk, new in changes]
        self._refuse_stale(table, ((ledger_key(k), pk) for k, pk, _ in bound))
        count = 0
        try:
            if len({ledger_key(k) for k, _, _ in bound}) < len(bound):
                groups = [[item] for item in bound]  # one key twice: in order, one at a time
            else:
                by_columns: dict[tuple[str, ...], list[Any]] = {}
                for item in bound:
                    by_columns.setdefault(tuple(item[2]), []).append(item)
                groups = list(by_columns.values())
            for group in groups:
                names = tuple(group[0][2])
                for start in range(0, len(group), _UPDATE_CHUNK):
                    chunk = group[start : start + _UPDATE_CHUNK]
                    if not names:
                        count += self._count_existing(table, [k for k, _, _ in chunk])
                        continue
                    sql, params = engine.update_by_key(table, names, chunk)
                    touched = self.duck.write(sql, params)
                    count += len(touched)
                    self._note_written(table, (ledger_key(r[0]) for r in touched))
        except duckdb.Error as exc:
            raise self._fail(exc, table, [new for _, new in changes]) from exc
        return count

    def _count_existing(self, table: TableSchema, keys: list[Any]) -> int:
        sql = (
            f"SELECT count(*) FROM {self.dialect.quote(table.name)} "
            f"WHERE {self.duck_engine.key_match(table)} IN (SELECT unnest(?))"
        )
        return int(self.duck.fetch(sql, (keys,))[0][0])

    def delete_rows(self, table: TableSchema, pks: Sequence[Any]) -> int:
        """Delete rows by key in one statement; return how many existed."""
        self._check_write("delete rows of", table.name)
        self.engine.require_table(table.name)
        if not pks:
            return 0
        engine = self.duck_engine
        to_key, ledger_key = engine.key_binding(table)
        keys = [to_key(pk) for pk in pks]
        self._refuse_stale(table, ((ledger_key(k), pk) for k, pk in zip(keys, pks)))
        q = self.dialect.quote
        sql = (
            f"DELETE FROM {q(table.name)} WHERE {engine.key_match(table)} IN (SELECT unnest(?)) "
            f"RETURNING {engine.key_match(table)}"
        )
        try:
            removed = self.duck.write(sql, (keys,))
            self._after_delete(table, removed)
        except duckdb.Error as exc:
            raise self._fail(exc, table) from exc
        return len(removed)

    def _after_delete(self, table: TableSchema, removed: list[tuple[Any, ...]]) -> None:
        _, ledger_key = self.duck_engine.key_binding(table)
        self._note_written(table, (ledger_key(r[0]) for r in removed))
        if removed and table.column(table.primary_key).autoincrement and table.name not in self._high_marked:
            # Remember the highest key ever used, should the deleted rows include it.
            keys = self.duck_engine.database.keys
            high = keys.high(self.duck, self.dialect, table)
            self.duck.run(f"INSERT INTO {self.dialect.quote(_KEYS_TABLE)} VALUES (?, ?)", (table.name, high))
            self._high_marked.add(table.name)

    def update(self, statement: Update) -> int:
        """Run an UPDATE inside the database; return the number of rows matched."""
        table = statement.table
        self._check_write("update rows of", table.name)
        self.engine.require_table(table.name)
        compiled, literals = self.compiler.update(_stored_assignments(statement))
        sql = self.duck_engine.returning(compiled.sql, table)
        mark = self.duck.mark()
        try:
            touched = self.duck.write(sql, compiled.parameters(literals))
        except duckdb.Error as exc:
            assigned = {n: e.value for n, e in statement.assignments if isinstance(e, Literal)}
            raise self._fail(exc, table, [assigned]) from exc
        self._keep_unless_stale(table, touched, mark)
        return len(touched)

    def delete(self, statement: Delete) -> int:
        """Run a DELETE inside the database; return the number of rows removed."""
        table = statement.table
        self._check_write("delete rows of", table.name)
        self.engine.require_table(table.name)
        compiled, literals = self.compiler.delete(statement)
        sql = self.duck_engine.returning(compiled.sql, table)
        mark = self.duck.mark()
        try:
            removed = self.duck.write(sql, compiled.parameters(literals))
        except duckdb.Error as exc:
            raise self._fail(exc, table) from exc
        self._keep_unless_stale(table, removed, mark)
        try:
            self._after_delete(table, removed)
        except duckdb.Error as exc:
            raise self._fail(exc, table) from exc
        return len(removed)

    def _keep_unless_stale(self, table: TableSchema, touched: list[tuple[Any, ...]], mark: int) -> None:
        _, ledger_key = self.duck_engine.key_binding(table)
        keys = [(ledger_key(r[0]), r[0]) for r in touched]
        try:
            self._refuse_stale(table, keys)
        except ConflictError:
            self.duck.restore(mark)  # the statement did not happen
            raise
        self._note_written(table, (k for k, _ in keys))

    # --- savepoints and the end ---
    def savepoint(self) -> Any:
        """A savepoint: a position (int) in the connection's write log."""
        self._check_open()
        return self.duck.mark()

    def rollback_to(self, token: Any) -> None:
        """Undo the writes after the savepoint (roll back, begin, replay the rest)."""
        self._check_open()
        if token < self.duck.mark():
            self.duck.restore(token)

    def release(self, token: Any) -> None:
        """Forget the savepoint (nothing to do: it is only a position)."""
        self._check_open()

    def commit(self) -> None:
        """Check the ledger and COMMIT under the database's commit lock.

        Raises:
            ConflictError: a row this transaction changed was changed by a
                commit after it began; roll back and retry.
            DuplicateKeyError: another transaction committed one of this
                transaction's keys or unique values first.
        """
        self._check_open()
        with self.ledger.lock:
            for table_name, keys in self.written.items():
                for key in keys:
                    if self.ledger.changed_since(self.start, table_name, key):
                        raise ConflictError(
                            f"{table_name}: a row this transaction changed was changed by "
                            "another transaction that committed after this one began; roll "
                            "back and retry",
                            table_name=table_name,
                        )
            try:
                self.duck.commit()
            except duckdb.Error as exc:
                raise self._commit_failure(exc) from exc
            self._ended = True
            self.ledger.committed(self.start, self.written)
        self._finish(reusable=True)

    def _commit_failure(self, error: duckdb.Error) -> PytuckError:
        info = self.dialect.classify_error(error)
        if info.kind is ErrorKind.UNIQUE:
            found = self.duck_engine.find_duplicate(self.duck.log)
            if found is not None:
                return found
        return self._fail(error)

    def rollback(self) -> None:
        """ROLLBACK and give the connection back (a no-op once finished)."""
        super().rollback()
        if not self._ended:
            self._ended = True
            self.ledger.end(self.start)


# --- the engine -------------------------------------------------------------------------------


def _identity(value: Any) -> Any:
    return value


def _datetime_key(value: Any) -> Any:
    return (value["utc"], value["aware"]) if isinstance(value, dict) else value


def _printed(value: Any) -> str:
    """A value as DuckDB prints it in a duplicate-key message."""
    if isinstance(value, dt.datetime):
        return str(_datetime_to_driver(value)["utc"])
    return str(value)


def _decimal_key_of(value: Any) -> Any:
    return value["key"]


def _utc_of(value: Any) -> Any:
    return value["utc"]


class DuckdbEngine(SqlEngine):
    """``Storage(path, engine="duckdb")``: a DuckDB database file.

    Args:
        path: the database file (created when missing), or ``":memory:"``.
        auto_flush: accepted and ignored: every commit is durable when it returns.
        read_only: open the file read-only; every write raises ReadOnlyError.
        threads: DuckDB worker threads (default: DuckDB's, one per core).
        pool_size: idle connections kept for reuse (default 4).

    Raises:
        ConfigurationError: no path, or an unknown option.
        DatabaseConnectionError: the file cannot be opened (folder, permissions,
            another process holding it).
        CorruptDatabaseError: the file is not a DuckDB database (left untouched).
    """

    name = "duckdb"
    capabilities = Capabilities(persistent=True, sql=True, savepoints=True, multi_process=False)

    def __init__(
        self,
        path: str | None = None,
        *,
        auto_flush: bool = True,
        read_only: bool = False,
        threads: int | None = None,
        pool_size: int = 4,
        **options: Any,
    ) -> None:
        if options:
            raise ConfigurationError(
                "the duckdb engine takes the options auto_flush, read_only, threads and "
                f"pool_size, got unknown {sorted(options)}"
            )
        if path is None:
            raise ConfigurationError(
                "the duckdb engine needs a database file path (or ':memory:')"
            )
        if os.path.isdir(path):
            raise ConfigurationError(f"{path} is a folder; give the duckdb engine a file path")
        config: dict[str, Any] = {}
        if threads is not None:
            config["threads"] = threads
        if path == ":memory:":
            raw = duckdb.connect(":memory:", config=config)
            _register_functions(raw)
            self.database = _Database(f":memory:{id(raw)}", raw, False)
            self.database.users = 1
        else:
            self.database = _open_database(path, read_only, config)
        self._returning: dict[str, str] = {}
        self._updates: dict[tuple[str, tuple[str, ...], int], str] = {}
        self._bindings: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {}
        database = self.database
        pool = SimplePool(lambda: DuckdbConnection(database), max_idle=pool_size)
        try:
            super().__init__(DuckdbDialect(), pool, path, read_only=read_only)
        except BaseException:
            self._release_database()
            raise

    def _release_database(self) -> None:
        if self.database.path.startswith(":memory:"):
            self.database.raw.close()
        else:
            _close_database(self.database)

    # --- statement helpers used by DuckdbTransaction ---
    def key_match(self, table: TableSchema, qualified: bool = False) -> str:
        """The SQL a key is matched on: a Decimal key by value, others as stored."""
        name = self.dialect.quote(table.primary_key)
        if qualified:
            name = f"{self.dialect.quote(table.name)}.{name}"
        if table.column(table.primary_key).type is Decimal:
            return f"({name}).key"
        return name

    def key_binding(self, table: TableSchema) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        """(Python key -> bound value, bound or returned value -> hashable ledger key)."""
        binding = self._bindings.get(table.name)
        if binding is None:
            tp = table.column(table.primary_key).type
            to_key: Callable[[Any], Any]
            if tp is Decimal:
                to_key = lambda pk: decimal_key(pk if isinstance(pk, Decimal) else Decimal(pk))  # noqa: E731
                binding = (to_key, _identity)
            else:
                adapt = self.key_adapter(table)
                to_key = _identity if adapt is None else (lambda pk: None if pk is None else adapt(pk))
                binding = (to_key, _datetime_key if tp is dt.datetime else _identity)
            self._bindings[table.name] = binding
        return binding

    def returning(self, sql: str, table: TableSchema) -> str:
        """``sql`` with ``RETURNING`` the matched key (cached: no string building per call)."""
        full = self._returning.get(sql)
        if full is None:
            full = f"{sql} RETURNING {self.key_match(table)}"
            if len(self._returning) >= 2048:
                self._returning.clear()
            self._returning[sql] = full
        return full

    def update_by_key(
        self, table: TableSchema, names: tuple[str, ...], chunk: Sequence[tuple[Any, Any, dict[str, Any]]]
    ) -> tuple[str, list[Any]]:
        """One UPDATE ... FROM (VALUES ...) setting ``names`` on every row of ``chunk``."""
        shape = (table.name, names, len(chunk))
        sql = self._updates.get(shape)
        if sql is None:
            q = self.dialect.quote
            width = len(names) + 1
            row_marks = "(" + ", ".join("?" * width) + ")"
            aliases = ", ".join(["k", *(f"c{i}" for i in range(len(names)))])
            sets = ", ".join(
                f"{q(name)} = CAST(v.c{i} AS {self.dialect.column_type(table.column(name))})"
                for i, name in enumerate(names)
            )
            key_type = "VARCHAR" if table.column(table.primary_key).type is Decimal else (
                self.dialect.column_type(table.column(table.primary_key))
            )
            sql = (
                f"UPDATE {q(table.name)} SET {sets} FROM (VALUES "
                + ", ".join([row_marks] * len(chunk))
                + f") AS v({aliases}) WHERE {self.key_match(table, True)} = CAST(v.k AS {key_type}) "
                f"RETURNING {self.key_match(table, True)}"
            )
            if len(self._updates) >= 2048:
                self._updates.clear()
            self._updates[shape] = sql
        params: list[Any] = []
        for key, _, new in chunk:
            params.append(key)
            for name in names:
                params.append(self.adapt_value(table, name, new[name]))
        return sql, params

    def find_duplicate(self, log: Sequence[_Write]) -> PytuckError | None:
        """After a commit refused for a duplicate: which inserted key or unique value
        another transaction committed first, probed on a fresh connection."""
        raw = self.database.cursor()
        try:
            for entry in log:
                if entry.table is None:
                    continue
                found = self._probe_rows(raw, entry.table, entry.rows())
                if found is not None:
                    return found
        except duckdb.Error:
            return None
        finally:
            raw.close()
        return None

    def _probe_rows(
        self, raw: duckdb.DuckDBPyConnection, table: TableSchema, rows: list[Sequence[Any]]
    ) -> PytuckError | None:
        q = self.dialect.quote
        for index, column in enumerate(table.columns):
            if not (column.primary_key or column.unique):
                continue
            name = q(column.name)
            if column.type is Decimal:
                target, pick = f"({name}).key", _decimal_key_of
            elif column.type is dt.datetime and not column.primary_key:
                target, pick = f"({name}).utc", _utc_of
            else:
                target, pick = name, _identity
            sql = f"SELECT 1 FROM {q(table.name)} WHERE {target} = ? LIMIT 1"
            for row in rows:
                value = row[index]
                if value is None or not raw.execute(sql, (pick(value),)).fetchall():
                    continue
                convert = self.dialect.from_driver(column.type)
                python_value = value if convert is None else convert(value)
                if column.type is uuid.UUID and not isinstance(python_value, uuid.UUID):
                    python_value = uuid.UUID(str(python_value))
                return duplicate_error(table.name, column.name, python_value, column.primary_key)
        return None

    def translate(
        self,
        error: BaseException,
        table: TableSchema | None = None,
        rows: Sequence[dict[str, Any]] = (),
        connection: Connection | None = None,
    ) -> PytuckError:
        """As the generic engine does; a duplicate DuckDB reports without its column
        (two rows of one batch, or a refused commit) is named from the rows."""
        info = self.dialect.classify_error(error)
        if info.kind is ErrorKind.UNIQUE and info.column is None and table is not None:
            for column in table.columns:
                if not (column.primary_key or column.unique):
                    continue
                for row in rows:
                    value = row.get(column.name)
                    if value is not None and _printed(value) == info.value:
                        return duplicate_error(table.name, column.name, value, column.primary_key)
        return super().translate(error, table, rows, connection)

    # --- transactions and tables ---
    def begin(self) -> DuckdbTransaction:
        """Start a transaction on a connection of its own."""
        connection = self._acquire()
        if not isinstance(connection, DuckdbConnection):
            raise TypeError("the duckdb engine's pool hands out DuckdbConnection objects")
        try:
            connection.begin()
        except duckdb.Error as exc:
            self.pool.release(connection, reusable=False)
            raise self.translate(exc) from exc
        return DuckdbTransaction(self, connection)

    def drop_table(self, name: str) -> None:
        """Drop table ``name``, its metadata row and its key high-water marks."""
        super().drop_table(name)
        self._in_transaction(
            lambda c: c.run(f"DELETE FROM {self.dialect.quote(_KEYS_TABLE)} WHERE name = ?", (name,))
        )
        self.database.keys.forget(name)
        self._bindings.pop(name, None)

    def close(self) -> None:
        """Close this storage's connections; the database closes with its last storage."""
        if self.closed:
            return
        super().close()
        self._release_database()
