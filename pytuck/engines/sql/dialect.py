"""Every difference between the SQL engines, as hooks of one :class:`Dialect` class.

# Interface: STABLE
# (hooks below are only ever added to, with defaults; none change meaning)

The compiler (``compiler.py``) and the generic engine (``engine.py``) never
branch on an engine's name: they ask the dialect. A new SQL engine subclasses
:class:`Dialect`, overrides the few hooks where its database differs from the
portable defaults here, and supplies connections (``engine.Connection``).

The hooks, by group:

* identifiers and parameters: :meth:`Dialect.quote`, :meth:`Dialect.placeholder`;
* schema (DDL): :meth:`Dialect.column_type`, :meth:`Dialect.key_column_type`,
  :meth:`Dialect.column_definition`, :meth:`Dialect.create_table_sql`,
  :meth:`Dialect.index_name`, :meth:`Dialect.drop_table_sql`,
  :attr:`Dialect.schema_table`, :meth:`Dialect.schema_table_sql`;
* values: :meth:`Dialect.to_driver`, :meth:`Dialect.from_driver` (per Python type);
* expressions: :meth:`Dialect.comparison`, :meth:`Dialect.in_list`,
  :meth:`Dialect.like`, :meth:`Dialect.arithmetic`, :meth:`Dialect.aggregate`,
  :meth:`Dialect.order_term`, :meth:`Dialect.group_term`,
  :meth:`Dialect.distinct_item`, :meth:`Dialect.boolean_constant`,
  :meth:`Dialect.limit_offset`, :meth:`Dialect.assignment`;
* transactions: :meth:`Dialect.savepoint_sql`, :meth:`Dialect.rollback_to_sql`,
  :meth:`Dialect.release_sql`;
* keys and bulk load: :meth:`Dialect.reserve_keys`, :meth:`Dialect.keys_inserted`,
  :meth:`Dialect.table_dropped`, :meth:`Dialect.bulk_insert`;
* errors: :attr:`Dialect.driver_errors`, :meth:`Dialect.classify_error`,
  :attr:`Dialect.statement_error_keeps_transaction`.

No upsert and no RETURNING are needed: integer keys are reserved before the
INSERT (:meth:`Dialect.reserve_keys`), so every row goes in with its key and
the bulk path stays one statement.

SQL fragments handed to hooks are strings that may contain parameter markers
(see ``compiler.py``); hooks may repeat or reorder a fragment freely, the
compiler binds its parameters wherever the fragment lands.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

import orjson

from pytuck.engines.sql.connection import Connection
from pytuck.errors import SchemaError
from pytuck.schema import ColumnSchema, TableSchema

__all__ = ["Dialect", "Operand", "ErrorKind", "DriverError", "Adapter", "PARAMETER_MARK"]

#: A value converter between Python values and driver values (None: identity).
Adapter = Callable[[Any], Any] | None

#: Starts and ends a parameter marker inside compiled fragments; identifiers
#: may not contain it (:meth:`Dialect.quote` refuses NUL).
PARAMETER_MARK = "\x00"


class Operand(NamedTuple):
    """A compiled sub-expression handed to expression hooks.

    Attributes:
        sql: its SQL text (may hold parameter markers).
        type: the Python type of its values (None for a bare NULL literal).
        column: the column schema when the operand is a plain column reference.
        is_literal: True when the operand is a bound value.
    """

    sql: str
    type: type | None
    column: ColumnSchema | None = None
    is_literal: bool = False


class ErrorKind(Enum):
    """What a driver exception means, as far as pytuck's error hierarchy cares."""

    UNIQUE = "unique"  # a primary key or unique value is taken -> DuplicateKeyError
    NOT_NULL = "not_null"  # NULL in a NOT NULL column -> ValidationError
    CONFLICT = "conflict"  # lock/serialization failure: the write lost a race -> ConflictError
    CONNECTION = "connection"  # cannot reach/open the database -> DatabaseConnectionError
    READ_ONLY = "read_only"  # the database refuses writes -> ReadOnlyError
    CORRUPT = "corrupt"  # not a database, or damaged -> CorruptDatabaseError
    QUERY = "query"  # the statement was refused (syntax, unknown table) -> QueryError
    OTHER = "other"  # anything else -> PytuckError


@dataclass(frozen=True)
class DriverError:
    """A classified driver exception.

    Attributes:
        kind: what it means.
        column: the stored column the driver named (unique / not-null violations).
        value: the offending value as the driver printed it, when it did.
    """

    kind: ErrorKind
    column: str | None = None
    value: str | None = None


def _identity_quote(name: str) -> str:
    if PARAMETER_MARK in name:
        raise SchemaError(f"identifier {name!r} contains a NUL character; choose another name")
    return '"' + name.replace('"', '""') + '"'


def _json_dumps(value: Any) -> str:
    # Sorted keys: equal documents get equal text (equality compares the text).
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _timedelta_to_micros(value: dt.timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


class Dialect:
    """The portable defaults; each SQL engine overrides what its database does differently.

    One instance serves one engine: every connection and thread of it. State
    kept in a dialect (such as key counters) must be guarded by a lock.

    Example::

        class SqliteDialect(Dialect):
            name = "sqlite"
            def placeholder(self, position: int) -> str:
                return "?"
    """

    #: The engine name, for messages.
    name: str = "sql"

    #: Exceptions of the driver that :meth:`classify_error` understands; the
    #: engine wraps only these (a bug in pytuck is never disguised).
    driver_errors: tuple[type[BaseException], ...] = ()

    #: True when a failed statement leaves the transaction usable (SQLite).
    #: False when the database aborts the transaction until ROLLBACK TO
    #: SAVEPOINT (PostgreSQL, DuckDB): the engine then asks the database no
    #: follow-up question after an error (such as which value was a duplicate).
    statement_error_keeps_transaction: bool = True

    #: The metadata table holding each table's TableSchema as JSON.
    schema_table: str = "_pytuck_tables"

    # --- identifiers and parameters --------------------------------------------
    def quote(self, name: str) -> str:
        """Quote an identifier: ``users`` -> ``"users"``, doubling inner quotes.

        Raises:
            SchemaError: the name contains NUL, which no database accepts.
        """
        return _identity_quote(name)

    def placeholder(self, position: int) -> str:
        """The placeholder of the ``position``-th bound parameter (1-based): ``?`` or ``$1``."""
        return "?"

    #: True when a grouped query must repeat each GROUP BY term verbatim where
    #: select items, HAVING or ORDER BY use it (parameters included), as
    #: PostgreSQL requires; the compiler then writes those places alike.
    repeat_group_terms: bool = False

    #: True when placeholders are numbered (``$1``) and one may appear several
    #: times: a literal used twice is then bound once, under one number.
    numbered_placeholders: bool = False

    # --- schema ------------------------------------------------------------------
    def column_type(self, column: ColumnSchema) -> str:
        """The SQL type (with any COLLATE clause) that stores ``column``'s Python type.

        Several Python types may share one SQL type (UUID and str as text):
        the stored TableSchema says which Python type a column holds.
        """
        tp = column.type
        if tp is bool:
            return "BOOLEAN"
        if tp is int:
            return "BIGINT"
        if tp is float:
            return "DOUBLE PRECISION"
        if tp is bytes:
            return "BLOB"
        if tp is dt.timedelta:
            return "BIGINT"
        return "TEXT"

    def key_column_type(self, table: TableSchema, column: ColumnSchema) -> str:
        """The SQL type of an integer primary key that the engine assigns (autoincrement)."""
        return self.column_type(column)

    def column_definition(self, table: TableSchema, column: ColumnSchema) -> str:
        """One column of CREATE TABLE: name, type, NOT NULL, PRIMARY KEY, UNIQUE."""
        if column.primary_key:
            kind = self.key_column_type(table, column) if column.autoincrement else self.column_type(column)
            return f"{self.quote(column.name)} {kind} NOT NULL PRIMARY KEY"
        parts = [self.quote(column.name), self.column_type(column)]
        if not column.nullable:
            parts.append("NOT NULL")
        if column.unique:
            parts.append("UNIQUE")
        return " ".join(parts)

    def index_name(self, table: TableSchema, column: ColumnSchema) -> str:
        """The (unquoted) name of the index of an ``index=`` column."""
        return f"{table.name}__{column.name}__idx"

    def create_table_sql(self, table: TableSchema) -> list[str]:
        """Statements creating the table and its indexes (run in one transaction)."""
        columns = ", ".join(self.column_definition(table, c) for c in table.columns)
        statements = [f"CREATE TABLE {self.quote(table.name)} ({columns})"]
        for column in table.columns:
            if column.index is not None and not column.primary_key and not column.unique:
                statements.append(
                    f"CREATE INDEX {self.quote(self.index_name(table, column))} "
                    f"ON {self.quote(table.name)} ({self.quote(column.name)})"
                )
        return statements

    def drop_table_sql(self, name: str) -> list[str]:
        """Statements removing table ``name`` (its indexes go with it)."""
        return [f"DROP TABLE IF EXISTS {self.quote(name)}"]

    def schema_table_sql(self) -> list[str]:
        """Statements creating the metadata table (``name`` -> TableSchema JSON) if missing."""
        return [
            f"CREATE TABLE IF NOT EXISTS {self.quote(self.schema_table)} "
            "(name TEXT NOT NULL PRIMARY KEY, definition TEXT NOT NULL)"
        ]

    # --- values ------------------------------------------------------------------
    def to_driver(self, tp: type) -> Adapter:
        """How a non-None Python value of type ``tp`` is handed to the driver (None: as is).

        Portable defaults: Decimal, UUID, date, time as text; naive datetimes as
        ``YYYY-MM-DD HH:MM:SS.ffffff`` text; timedelta as int microseconds;
        list/dict as JSON text with sorted keys.
        """
        if tp is Decimal or tp is uuid.UUID:
            return str
        if tp is dt.date:
            return dt.date.isoformat
        if tp is dt.time:
            return lambda value: value.isoformat(timespec="microseconds")
        if tp is dt.datetime:
            return lambda value: value.isoformat(sep=" ", timespec="microseconds")
        if tp is dt.timedelta:
            return _timedelta_to_micros
        if tp is list or tp is dict:
            return _json_dumps
        return None

    def from_driver(self, tp: type) -> Adapter:
        """How a non-None driver value becomes the Python type ``tp`` (None: as is)."""
        if tp is bool:
            return bool
        if tp is float:
            return float
        if tp is Decimal:
            return Decimal
        if tp is uuid.UUID:
            return uuid.UUID
        if tp is dt.date:
            return dt.date.fromisoformat
        if tp is dt.time:
            return dt.time.fromisoformat
        if tp is dt.datetime:
            return dt.datetime.fromisoformat
        if tp is dt.timedelta:
            return lambda micros: dt.timedelta(microseconds=micros)
        if tp is list or tp is dict:
            return orjson.loads
        return None

    # --- expressions -------------------------------------------------------------
    def comparison(self, op: str, left: Operand, right: Operand) -> str:
        """``left op right`` for op in ``= <> < <= > >=`` (strings by code point)."""
        return f"{left.sql} {op} {right.sql}"

    def in_list(self, operand: Operand, values: Sequence[Operand], negate: bool) -> str:
        """``operand [NOT] IN (values)``; ``values`` is never empty (the compiler
        renders ``in_([])`` as a constant)."""
        inner = ", ".join(v.sql for v in values)
        return f"{operand.sql} {'NOT IN' if negate else 'IN'} ({inner})"

    def like(self, operand: Operand, pattern: Operand, fold_case: bool) -> str:
        """LIKE with ``\\`` as escape; ``fold_case`` folds ASCII letters only
        (DESIGN.md, Text matching). The default folds with TRANSLATE."""
        if fold_case:
            upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            fold = f"'{upper}', '{upper.lower()}'"
            return (
                f"TRANSLATE({operand.sql}, {fold}) LIKE TRANSLATE({pattern.sql}, {fold}) ESCAPE '\\'"
            )
        return f"{operand.sql} LIKE {pattern.sql} ESCAPE '\\'"

    def float_type(self) -> str:
        """The SQL type a CAST to floating point names."""
        return "DOUBLE PRECISION"

    def arithmetic(self, op: str, left: Operand, right: Operand, result_type: type) -> str:
        """``left op right`` for op in add, sub, mul, truediv, floordiv, mod.

        The contract (DESIGN.md, Arithmetic; TODO.md): ``/`` is true division
        (float); ``//`` floors and ``%`` takes the divisor's sign, as in Python;
        division or modulo by zero is NULL. ``result_type`` is the node's type.
        """
        a, b = left.sql, right.sql
        if result_type is float and op != "truediv":
            a = self._as_float(left)
            b = self._as_float(right)
        if op in ("add", "sub", "mul"):
            symbol = {"add": "+", "sub": "-", "mul": "*"}[op]
            return f"({a} {symbol} {b})"
        divisor = f"NULLIF({b}, 0)"
        if op == "truediv":
            return f"(CAST({a} AS {self.float_type()}) / {divisor})"
        if result_type is float:
            if op == "floordiv":
                return f"FLOOR({a} / {divisor})"
            return f"({a} - {b} * FLOOR({a} / {divisor}))"
        # Exact types (int, Decimal): % truncates in SQL; shift it to the divisor's sign.
        python_mod = f"((({a} % {divisor}) + {b}) % {divisor})"
        if op == "mod":
            return python_mod
        return f"(({a} - {python_mod}) / {divisor})"

    def _as_float(self, operand: Operand) -> str:
        if operand.type is float:
            return operand.sql
        return f"CAST({operand.sql} AS {self.float_type()})"

    def assignment(self, target: ColumnSchema, operand: Operand) -> str:
        """The value of ``SET target = operand`` in an UPDATE statement.

        An assignment stores the column's type (the memory engine's
        ``compile_assignment``): an int or Decimal expression written into a
        float column becomes a float. The default casts; a database whose
        column type already converts may return ``operand.sql``.
        """
        if target.type is float and operand.type not in (float, None):
            return self._as_float(operand)
        return operand.sql

    def aggregate(self, name: str, arg: Operand | None, distinct: bool, result_type: type | None) -> str:
        """``count(*)``, ``count([DISTINCT] x)``, ``sum/avg/min/max(x)``.

        Contract: avg is float, sum of ints an int, all of them NULL over no rows
        (count 0).
        """
        if arg is None:
            return "COUNT(*)"
        prefix = "DISTINCT " if distinct else ""
        if name == "avg":
            return f"AVG(CAST({arg.sql} AS {self.float_type()}))"
        return f"{name.upper()}({prefix}{arg.sql})"

    def order_term(self, operand: Operand, descending: bool, nulls_first: bool) -> str:
        """One ORDER BY term, always with explicit NULL placement (DESIGN.md, Ordering)."""
        direction = "DESC" if descending else "ASC"
        return f"{operand.sql} {direction} NULLS {'FIRST' if nulls_first else 'LAST'}"

    def bound_value(self, operand: Operand) -> str:
        """A bound value no other hook sees: a literal select item (``SELECT ?``)
        or the operand of ``? IS NULL``. Databases that cannot infer a bare
        parameter's type name it here; the default leaves it bare."""
        return operand.sql

    def group_term(self, operand: Operand) -> str:
        """One GROUP BY term (grouping must treat values as Python's ``==`` does)."""
        return operand.sql

    def distinct_item(self, operand: Operand) -> str:
        """A column of a SELECT DISTINCT (distinctness must follow Python's ``==``)."""
        return operand.sql

    def boolean_constant(self, value: bool) -> str:
        """A constant truth value usable in WHERE and in select lists."""
        return "(1 = 1)" if value else "(1 = 0)"

    def limit_offset(self, limit: str | None, offset: str | None) -> str:
        """The LIMIT/OFFSET clause from placeholders (each None when absent)."""
        parts = []
        if limit is not None:
            parts.append(f"LIMIT {limit}")
        if offset is not None:
            parts.append(f"OFFSET {offset}")
        return " ".join(parts)

    # --- transactions ------------------------------------------------------------
    def savepoint_sql(self, name: str) -> str:
        """Open savepoint ``name``."""
        return f"SAVEPOINT {self.quote(name)}"

    def rollback_to_sql(self, name: str) -> str:
        """Undo back to savepoint ``name`` (which stays open)."""
        return f"ROLLBACK TO SAVEPOINT {self.quote(name)}"

    def release_sql(self, name: str) -> str:
        """Forget savepoint ``name``, keeping its changes."""
        return f"RELEASE SAVEPOINT {self.quote(name)}"

    # --- keys and bulk load ------------------------------------------------------
    def reserve_keys(self, connection: Connection, table: TableSchema, count: int) -> int:
        """The first of ``count`` fresh integer keys for rows whose key was left empty.

        The engine numbers those rows from the returned key upwards, in order,
        skipping past any explicit key of the same batch (as the memory
        engine does), then calls :meth:`keys_inserted` with the highest key it
        used. Keys must increase and never be reused in the table, even after
        deletes and explicit keys (DESIGN.md, Keys). Called inside the
        transaction, on its connection.
        """
        raise NotImplementedError(f"the {self.name} dialect must say how integer keys are assigned")

    def keys_inserted(self, connection: Connection, table: TableSchema, highest: int) -> None:
        """Rows with integer keys up to ``highest`` were inserted (explicit or
        reserved): later :meth:`reserve_keys` calls must return more than that."""

    def table_dropped(self, name: str) -> None:
        """Table ``name`` was dropped: forget anything kept about it (such as key counters)."""

    def bulk_insert(
        self,
        connection: Connection,
        table: TableSchema,
        rows: Sequence[Sequence[Any]],
    ) -> int:
        """Insert ``rows`` (driver values, every column of ``table`` in order); return the count.

        The default is one prepared INSERT run with ``executemany``; DuckDB
        (Arrow) and PostgreSQL (COPY) override it with their bulk paths.
        """
        names = ", ".join(self.quote(c.name) for c in table.columns)
        marks = ", ".join(self.placeholder(i + 1) for i in range(len(table.columns)))
        connection.run_many(f"INSERT INTO {self.quote(table.name)} ({names}) VALUES ({marks})", rows)
        return len(rows)

    # --- errors --------------------------------------------------------------------
    def classify_error(self, error: BaseException) -> DriverError:
        """Say what a driver exception (an instance of :attr:`driver_errors`) means."""
        return DriverError(ErrorKind.OTHER)
