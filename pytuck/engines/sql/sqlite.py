"""The SQLite engine: ``Storage("data.sqlite", engine="sqlite")`` on the stdlib's sqlite3.

Connections: every transaction runs on its own connection from a small pool
(``SimplePool``), so two sessions, even in one thread, never see each other's
uncommitted rows. The database runs in WAL mode: readers are never blocked by
a writer, and writers are serialised by SQLite's write lock (a writer waits up
to ``timeout`` seconds for it).

Lost races (DESIGN.md, Transactions): a transaction that has read and then
tries to write after another one committed gets ``SQLITE_BUSY_SNAPSHOT``
(its snapshot is stale), and one that has read while another holds the write
lock gets ``SQLITE_BUSY`` at once; both become ``ConflictError``, so a write
based on a stale read is refused and the caller retries. This is coarser
than the memory engine (which compares rows): any commit by another writer
since this transaction's first read makes its first write conflict.

How the contract's types and rules are kept on SQLite:

* ``like`` is case-sensitive: ``PRAGMA case_sensitive_like = ON`` on every
  connection; ``ilike`` compares ``lower()`` of both sides, and SQLite's
  built-in ``lower()`` folds ASCII letters only, as the contract wants.
* Text compares by code point: SQLite's BINARY collation compares UTF-8
  bytes, which orders as code points do.
* datetimes are text ``YYYY-MM-DD HH:MM:SS.ffffff``; an aware (UTC) value gets
  one trailing space. The column's collation is RTRIM, which ignores trailing
  spaces: naive and aware values compare on their (UTC) wall clock as the
  memory engine does, while each keeps its kind on the way back. Grouping and
  DISTINCT use BINARY, where the two kinds differ (as Python's ``==`` says).
* Decimal is its exact text (``"1.50"`` keeps its scale) in a column with
  the ``pytuck_decimal`` collation, which compares numerically; arithmetic,
  sum and avg over Decimals, ``//`` and ``%``, and comparisons mixing
  Decimal with int/float run in small Python functions registered on each
  connection, which compute exactly as the memory engine does.
* JSON documents are text with sorted keys; ``==`` between documents parses
  both (``pytuck_json_equal``), so ``1`` equals ``1.0`` as in Python.
* Integer keys: the key column is the rowid (``INTEGER PRIMARY KEY``); the
  metadata row of each table keeps ``next_key``, so keys of deleted rows are
  never reused. Keys for rows left without one are reserved by one UPDATE of
  that row, which takes the write lock (:meth:`SqliteDialect.reserve_keys`);
  AUTOINCREMENT would instead write sqlite_sequence once per inserted row.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast
from urllib.parse import quote as url_quote

import orjson

from pytuck.engines.base import Capabilities, register_engine
from pytuck.engines.sql.connection import Connection, SimplePool
from pytuck.engines.sql.dialect import Adapter, Dialect, DriverError, ErrorKind, Operand
from pytuck.engines.sql.engine import SqlEngine
from pytuck.errors import ConfigurationError, SchemaError
from pytuck.query.arithmetic import compute
from pytuck.schema import ColumnSchema, TableSchema

__all__ = ["SqliteDialect", "SqliteConnection", "SqliteEngine"]

_UTC = dt.timezone.utc
_DECIMAL_COLLATION = "pytuck_decimal"

# SQLite result codes (primary codes; extended codes keep them in the low byte).
_SQLITE_CORRUPT = 11
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


# --- values ---------------------------------------------------------------------------


def _datetime_to_text(value: dt.datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat(sep=" ", timespec="microseconds")
    if value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    # The trailing space marks an aware (UTC) value; RTRIM collation ignores it.
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") + " "


def _datetime_from_text(text: str) -> dt.datetime:
    if text.endswith(" "):
        return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=_UTC)
    return dt.datetime.fromisoformat(text)


# --- functions registered on every connection -----------------------------------------


def _number(value: Any) -> Any:
    # Decimal values travel as their text; ints and floats as themselves.
    return Decimal(value) if isinstance(value, str) else value


def _decimal_collation(left: str, right: str) -> int:
    try:
        a, b = Decimal(left), Decimal(right)
    except InvalidOperation:  # text written by hand through raw SQL: order it as text
        return (left > right) - (left < right)
    return (a > b) - (a < b)


def _compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1 comparing two numbers exactly (Decimal text, int or float), or NULL."""
    if left is None or right is None:
        return None
    a, b = _number(left), _number(right)
    return int(a > b) - int(a < b)


def _json_equal(left: Any, right: Any) -> int | None:
    """1 when two JSON texts hold documents Python finds equal, else 0; NULL for NULL."""
    if left is None or right is None:
        return None
    return int(orjson.loads(left) == orjson.loads(right))


def _to_float(value: Any) -> float | None:
    return None if value is None else float(_number(value))


def _arith(op: str, left: Any, right: Any, kind: str) -> Any:
    """``left op right`` as the memory engine computes it; ``kind`` is the result
    type: ``"i"`` int, ``"f"`` float, ``"d"`` Decimal (returned as text)."""
    if left is None or right is None:
        return None
    result = compute(op, _number(left), _number(right), float if kind == "f" else None)
    return str(result) if isinstance(result, Decimal) else result


class _DecimalSum:
    """``sum()`` of Decimal text, exact; NULL over no values."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            number = _number(value)
            self.total = number if self.total is None else self.total + number

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


class _DecimalAverage:
    """``avg()`` of Decimal text as the memory engine computes it: float(sum) / count."""

    def __init__(self) -> None:
        self.total: Decimal = Decimal(0)
        self.count = 0

    def step(self, value: Any) -> None:
        if value is not None:
            self.total += _number(value)
            self.count += 1

    def finalize(self) -> float | None:
        return float(self.total) / self.count if self.count else None


# --- the dialect ------------------------------------------------------------------------


class SqliteDialect(Dialect):
    """SQLite's SQL: see the module docstring for how each contract rule is kept."""

    name = "sqlite"
    driver_errors = (sqlite3.Error,)
    statement_error_keeps_transaction = True

    def __init__(self) -> None:
        # table -> highest key this process handed out or saw inserted. SQLite's
        # own counter (sqlite_sequence) rolls back with a transaction; this
        # one does not, so a key reserved by a rolled-back insert is not
        # handed out again (DESIGN.md, Keys), as in the memory engine.
        self._highest: dict[str, int] = {}
        self._lock = threading.Lock()

    # --- schema ---
    def column_type(self, column: ColumnSchema) -> str:
        """SQLite types (affinities); datetime and Decimal columns name their collation."""
        tp = column.type
        if tp is int or tp is dt.timedelta:
            return "INTEGER"
        if tp is float:
            # A type name with no REAL affinity: REAL affinity stores whole
            # floats as integers, which turns -0.0 into 0.0 (floats must
            # round-trip exactly). "BLOB" in the name gives no affinity.
            return "FLOAT_BLOB"
        if tp is bool:
            return "BOOLEAN"
        if tp is bytes:
            return "BLOB"
        if tp is dt.datetime:
            return "TEXT COLLATE RTRIM"
        if tp is Decimal:
            return f"TEXT COLLATE {_DECIMAL_COLLATION}"
        return "TEXT"

    def column_definition(self, table: TableSchema, column: ColumnSchema) -> str:
        """An assigned integer key is ``INTEGER PRIMARY KEY`` (the rowid; see :meth:`reserve_keys`)."""
        if column.autoincrement:
            return f"{self.quote(column.name)} INTEGER NOT NULL PRIMARY KEY"
        return super().column_definition(table, column)

    def schema_table_sql(self) -> list[str]:
        """The metadata table, with each table's next integer key (never reused)."""
        return [
            f"CREATE TABLE IF NOT EXISTS {self.quote(self.schema_table)} "
            "(name TEXT NOT NULL PRIMARY KEY, definition TEXT NOT NULL, "
            "next_key INTEGER NOT NULL DEFAULT 1)"
        ]

    # --- values ---
    def to_driver(self, tp: type) -> Adapter:
        """datetimes as text with the aware marker; the rest as the portable defaults."""
        if tp is dt.datetime:
            return _datetime_to_text
        return super().to_driver(tp)

    def from_driver(self, tp: type) -> Adapter:
        """The inverse of :meth:`to_driver`."""
        if tp is dt.datetime:
            return _datetime_from_text
        if tp is int:
            return None
        return super().from_driver(tp)

    # --- expressions ---
    @staticmethod
    def _collated(operand: Operand, collation: str) -> str:
        return f"{operand.sql} COLLATE {collation}"

    def comparison(self, op: str, left: Operand, right: Operand) -> str:
        """Decimals compare with their collation, or exactly through ``pytuck_compare``
        when mixed with int/float; datetimes compare with RTRIM; JSON documents
        as Python's ``==`` does (``{"a": 1} == {"a": 1.0}``) through ``pytuck_json_equal``."""
        types = {left.type, right.type}
        if list in types or dict in types:
            truth = "1" if op == "=" else "0"
            return f"pytuck_json_equal({left.sql}, {right.sql}) = {truth}"
        if Decimal in types:
            if types <= {Decimal, None}:
                return f"{left.sql} {op} {self._collated(right, _DECIMAL_COLLATION)}"
            return f"pytuck_compare({left.sql}, {right.sql}) {op} 0"
        if dt.datetime in types:
            return f"{left.sql} {op} {self._collated(right, 'RTRIM')}"
        return f"{left.sql} {op} {right.sql}"

    def in_list(self, operand: Operand, values: Sequence[Operand], negate: bool) -> str:
        """IN compares with the left operand's collation: name it for Decimal and datetime."""
        mixed = operand.type is Decimal and any(v.type in (int, float) for v in values)
        if mixed or operand.type in (list, dict):
            # One exact comparison per value, as OR (AND for NOT IN): the
            # three-valued answer of IN, value by value.
            tests = [self.comparison("<>" if negate else "=", operand, v) for v in values]
            return "(" + (" AND " if negate else " OR ").join(tests) + ")"
        inner = ", ".join(v.sql for v in values)
        word = "NOT IN" if negate else "IN"
        if operand.type is Decimal:
            return f"{self._collated(operand, _DECIMAL_COLLATION)} {word} ({inner})"
        if operand.type is dt.datetime:
            return f"{self._collated(operand, 'RTRIM')} {word} ({inner})"
        return f"{operand.sql} {word} ({inner})"

    def like(self, operand: Operand, pattern: Operand, fold_case: bool) -> str:
        """LIKE is case-sensitive (pragma); ``lower()`` folds ASCII letters only."""
        if fold_case:
            return f"lower({operand.sql}) LIKE lower({pattern.sql}) ESCAPE '\\'"
        return f"{operand.sql} LIKE {pattern.sql} ESCAPE '\\'"

    def float_type(self) -> str:
        """SQLite's floating point type."""
        return "REAL"

    def _as_float(self, operand: Operand) -> str:
        if operand.type is Decimal:
            return f"pytuck_float({operand.sql})"
        return super()._as_float(operand)

    def arithmetic(self, op: str, left: Operand, right: Operand, result_type: type) -> str:
        """Native SQL for int/float ``+ - * /``; ``pytuck_arith`` for Decimal results
        and for ``//`` and ``%`` (Python's flooring, NULL on zero)."""
        if result_type is Decimal or op in ("floordiv", "mod"):
            kind = {int: "i", float: "f", Decimal: "d"}.get(result_type, "f")
            return f"pytuck_arith('{op}', {left.sql}, {right.sql}, '{kind}')"
        if op == "truediv":
            return f"({self._as_float(left)} / NULLIF({self._as_float(right)}, 0))"
        return super().arithmetic(op, left, right, result_type)

    def aggregate(self, name: str, arg: Operand | None, distinct: bool, result_type: type | None) -> str:
        """Exact Decimal sum/avg; avg as float(sum) / count like the memory engine;
        min/max and DISTINCT with the collation of the argument's type."""
        if arg is None:
            return "COUNT(*)"
        if arg.type is Decimal:
            if name == "sum":
                return f"pytuck_decimal_sum({arg.sql})"
            if name == "avg":
                return f"pytuck_decimal_avg({arg.sql})"
            inner = self._collated(arg, _DECIMAL_COLLATION)
        elif arg.type is dt.datetime:
            inner = self._collated(arg, "BINARY" if distinct else "RTRIM")
        else:
            inner = arg.sql
        if name == "avg":
            return f"(CAST(SUM({inner}) AS REAL) / COUNT({inner}))"
        return f"{name.upper()}({'DISTINCT ' if distinct else ''}{inner})"

    def order_term(self, operand: Operand, descending: bool, nulls_first: bool) -> str:
        """ORDER BY with the collation of the operand's type and explicit NULL placement."""
        if operand.type is Decimal:
            operand = operand._replace(sql=self._collated(operand, _DECIMAL_COLLATION))
        elif operand.type is dt.datetime:
            operand = operand._replace(sql=self._collated(operand, "RTRIM"))
        return super().order_term(operand, descending, nulls_first)

    def group_term(self, operand: Operand) -> str:
        """Group as Python's ``==``: Decimals numerically, datetimes by kind and value."""
        if operand.type is Decimal:
            return self._collated(operand, _DECIMAL_COLLATION)
        if operand.type is dt.datetime:
            return self._collated(operand, "BINARY")
        return operand.sql

    def distinct_item(self, operand: Operand) -> str:
        """DISTINCT compares as grouping does."""
        return self.group_term(operand)

    def limit_offset(self, limit: str | None, offset: str | None) -> str:
        """SQLite needs a LIMIT before OFFSET: ``LIMIT -1`` is no limit."""
        return super().limit_offset("-1" if limit is None and offset is not None else limit, offset)

    # --- keys ---
    def reserve_keys(self, connection: Connection, table: TableSchema, count: int) -> int:
        """Reserve ``count`` keys above every key ever used, in one UPDATE of the metadata row.

        The UPDATE takes SQLite's write lock, so no other writer (thread or
        process) reserves or inserts until this transaction ends: the keys
        are this transaction's alone. The row's ``next_key`` also remembers
        keys of deleted rows, so keys are never reused.
        """
        meta = self.quote(self.schema_table)
        key = self.quote(table.primary_key)
        rows = connection.fetch(
            f"UPDATE {meta} SET next_key = max(next_key, "
            f"coalesce((SELECT max({key}) FROM {self.quote(table.name)}), 0) + 1) + ? "
            "WHERE name = ? RETURNING next_key - ?",
            (count, table.name, count),
        )
        if not rows:
            raise SchemaError(
                f"table {table.name!r} has no row in {self.schema_table}: it was not created by "
                "pytuck; create it through a model, or give every row its key"
            )
        first = int(rows[0][0])
        with self._lock:
            # The write lock is held: no other reservation runs until this
            # transaction ends, so reading and moving the mark cannot race.
            remembered = self._highest.get(table.name, 0)
            if remembered >= first:
                first = remembered + 1
                self._store_next(connection, table, first + count)
            self._highest[table.name] = first + count - 1
        return first

    def _store_next(self, connection: Connection, table: TableSchema, next_key: int) -> None:
        meta = self.quote(self.schema_table)
        connection.run(
            f"UPDATE {meta} SET next_key = max(next_key, ?) WHERE name = ?", (next_key, table.name)
        )

    def keys_inserted(self, connection: Connection, table: TableSchema, highest: int) -> None:
        """An explicit key beyond the reserved ones moves the stored counter past it.

        The in-process mark is kept even if the transaction rolls back (the
        stored counter rolls back with it), so a rolled-back key is not
        handed out again by this process, as in the memory engine.
        """
        with self._lock:
            if highest <= self._highest.get(table.name, 0):
                return
            self._highest[table.name] = highest
        self._store_next(connection, table, highest + 1)

    def table_dropped(self, name: str) -> None:
        """A dropped table starts its keys afresh (SQLite forgets its sequence too)."""
        with self._lock:
            self._highest.pop(name, None)

    # --- errors ---
    def classify_error(self, error: BaseException) -> DriverError:
        """Map sqlite3 exceptions by result code and constraint message."""
        message = str(error)
        code = getattr(error, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if isinstance(error, sqlite3.IntegrityError):
            for prefix, kind in (
                ("UNIQUE constraint failed: ", ErrorKind.UNIQUE),
                ("NOT NULL constraint failed: ", ErrorKind.NOT_NULL),
            ):
                if message.startswith(prefix):
                    return DriverError(kind, column=message[len(prefix):].strip())
            return DriverError(ErrorKind.OTHER)
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in message:
            return DriverError(ErrorKind.CONFLICT)
        if primary == _SQLITE_READONLY or "readonly database" in message:
            return DriverError(ErrorKind.READ_ONLY)
        if primary in (_SQLITE_NOTADB, _SQLITE_CORRUPT) or "not a database" in message:
            return DriverError(ErrorKind.CORRUPT)
        if primary == _SQLITE_CANTOPEN or "unable to open" in message:
            return DriverError(ErrorKind.CONNECTION)
        if isinstance(error, (sqlite3.OperationalError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            return DriverError(ErrorKind.QUERY)
        return DriverError(ErrorKind.OTHER)


# --- connections -------------------------------------------------------------------------


class SqliteConnection(Connection):
    """One sqlite3 connection in autocommit mode; transactions are explicit BEGIN/COMMIT."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; every row."""
        return self.raw.execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; rows changed."""
        return self.raw.execute(sql, params).rowcount

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """``executemany``: one prepared statement for every row."""
        return self.raw.executemany(sql, rows).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Raw SQL: column names and rows."""
        cursor = self.raw.execute(sql, params)
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()

    def begin(self) -> None:
        """BEGIN (deferred: reading takes a snapshot, the first write the write lock)."""
        self.raw.execute("BEGIN")

    def commit(self) -> None:
        """COMMIT."""
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        """ROLLBACK, when a transaction is open."""
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        """Close the sqlite3 connection."""
        self.raw.close()


def connect(path: str, read_only: bool, timeout: float) -> SqliteConnection:
    """Open one connection configured for pytuck (WAL, case-sensitive LIKE, functions).

    Raises:
        sqlite3.Error: the file cannot be opened or is not a database.
    """
    if read_only:
        target = "file:" + url_quote(os.path.abspath(path)) + "?mode=ro"
    else:
        target = path
    raw = sqlite3.connect(
        target,
        timeout=timeout,
        isolation_level=None,
        check_same_thread=False,  # a pooled connection serves one transaction at a time, in any thread
        cached_statements=256,
        uri=read_only,
    )
    try:
        if not read_only:
            raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("PRAGMA case_sensitive_like = ON")
        raw.create_collation(_DECIMAL_COLLATION, _decimal_collation)
        raw.create_function("pytuck_compare", 2, _compare, deterministic=True)
        raw.create_function("pytuck_float", 1, _to_float, deterministic=True)
        raw.create_function("pytuck_json_equal", 2, _json_equal, deterministic=True)
        raw.create_function("pytuck_arith", 4, _arith, deterministic=True)
        raw.create_aggregate("pytuck_decimal_sum", 1, cast(Any, _DecimalSum))
        raw.create_aggregate("pytuck_decimal_avg", 1, cast(Any, _DecimalAverage))
    except BaseException:
        raw.close()
        raise
    return SqliteConnection(raw)


class SqliteEngine(SqlEngine):
    """``Storage(path, engine="sqlite")``: a SQLite database file.

    Args:
        path: the database file (created when missing).
        auto_flush: accepted and ignored: every commit is durable when it returns.
        read_only: open the file read-only; every write raises ReadOnlyError.
        timeout: seconds a writer waits for another writer's lock before
            giving up with ConflictError (default 10).
        pool_size: idle connections kept for reuse (default 4).

    Raises:
        ConfigurationError: no path, ``":memory:"``, or an unknown option.
        DatabaseConnectionError: the file cannot be opened (missing folder, permissions).
        CorruptDatabaseError: the file is not a SQLite database (left untouched).
    """

    name = "sqlite"
    capabilities = Capabilities(persistent=True, sql=True, savepoints=True, multi_process=True)

    def __init__(
        self,
        path: str | None = None,
        *,
        auto_flush: bool = True,
        read_only: bool = False,
        timeout: float = 10.0,
        pool_size: int = 4,
        **options: Any,
    ) -> None:
        if options:
            raise ConfigurationError(
                "the sqlite engine takes the options auto_flush, read_only, timeout and "
                f"pool_size, got unknown {sorted(options)}"
            )
        if path is None or path == ":memory:" or path.startswith("file::memory:"):
            raise ConfigurationError(
                "the sqlite engine needs a database file path; for a database in memory "
                "use Storage(in_memory=True)"
            )
        if os.path.isdir(path):
            raise ConfigurationError(f"{path} is a folder; give the sqlite engine a file path")
        self.path = path
        pool = SimplePool(lambda: connect(path, read_only, timeout), max_idle=pool_size)
        super().__init__(SqliteDialect(), pool, path, read_only=read_only)


register_engine("sqlite", SqliteEngine)
