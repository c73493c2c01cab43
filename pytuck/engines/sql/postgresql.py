"""The PostgreSQL engine: ``Storage("postgresql://user:pw@host:5432/db")`` on asyncpg.

A DSN selects the engine (``engine="postgresql"`` also works). Options::

    Storage(dsn, schema="app",          # tables live in this schema (created if missing)
            connect_timeout=5.0,        # seconds to reach the server before giving up
            min_size=1, max_size=10,    # pool: connections kept open / open at most
            acquire_timeout=30.0,       # seconds a session waits for a free connection
            lock_timeout=10.0,          # seconds a write waits for another's row lock
            statement_cache_size=256,   # prepared statements kept per connection
            application_name="pytuck")  # how the server lists the connections

``auto_flush`` is accepted and ignored: every commit is durable when it returns.

The synchronous API drives asyncpg through :mod:`pytuck.engines.sql.pg_bridge`:
each pooled connection has its own event loop, run by the calling thread
(measured: +9 µs per call, against +131-143 µs for a loop in a background
thread; the figures are in that module's docstring).

Transactions run at REPEATABLE READ: a write based on a stale read fails
with a serialization failure (DESIGN.md, Transactions), which becomes
:class:`~pytuck.errors.ConflictError`. ``BEGIN`` is sent lazily with the first
statement, so a transaction that runs nothing costs no round trip.

How the contract's types and rules are kept (DESIGN.md, Types/Ordering/Arithmetic):

* Native types: BIGINT, DOUBLE PRECISION (inf round-trips), BOOLEAN, BYTEA,
  DATE, TIME, INTERVAL (timedelta: days and microseconds kept apart, so the
  whole 64-bit microsecond range is exact), UUID.
* Text is ``TEXT COLLATE "C"`` (code point order); comparisons and ORDER BY
  name ``COLLATE "C"`` too, so literals and expressions sort the same way.
* datetime is ISO text ``YYYY-MM-DD HH:MM:SS.ffffff`` (naive) or the same with
  ``+00:00`` (aware, UTC). One column may hold both kinds and each must come
  back as it went in; no PostgreSQL type keeps that bit (``timestamp`` drops
  the zone, ``timestamptz`` makes every value aware). Fixed-width ISO text
  sorts chronologically within each kind and reads back with one
  ``fromisoformat``.
* Decimal is its exact text (``"1.50"``, ``"1E+3"`` and ``"-0"`` keep their
  form; NUMERIC would print ``1000`` and ``0``) and is cast to NUMERIC wherever
  it is compared, sorted, grouped or computed with.
* list/dict are JSON text with sorted keys (JSONB would turn ``1e16`` into an
  int and ``-0.0`` into ``0.0``); grouping and DISTINCT compare that text, as
  the memory engine does; ``==`` and ``in_`` compare them as Python does
  (``1 == 1.0 == True``) through JSONB and ``pytuck_json_key_v1``.
* Numbers of different types compare exactly, as Python does: ints and
  Decimals as NUMERIC, floats through ``pytuck_exact_v1`` (the exact binary
  value as NUMERIC). ``//`` and ``%`` on floats follow CPython's
  ``float_divmod`` (``pytuck_float_floordiv_v1``/``pytuck_float_mod_v1``).
  These SQL functions are created beside the metadata table.
* ``sum`` of ints is cast back to BIGINT (PostgreSQL returns NUMERIC); ``avg``
  is ``float(sum) / count`` as in the memory engine; min/max of bool, UUID and
  bytes, which PostgreSQL lacks, go through bool_and/bool_or and text.
* Integer keys: a counter per table in the metadata table, advanced in its
  own autocommit statement on a dedicated connection, so keys never go back,
  even after a rollback; explicit keys move it past them before their rows go in.
* Bulk inserts of many rows use COPY (``copy_records_to_table``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]

from pytuck.engines.base import Capabilities, register_engine
from pytuck.engines.sql.connection import Connection
from pytuck.engines.sql.dialect import Adapter, Dialect, DriverError, ErrorKind, Operand
from pytuck.engines.sql.engine import SqlEngine
from pytuck.engines.sql.pg_bridge import (
    KeyCounter,
    LoopConnection,
    LoopPool,
    PostgresqlConnection,
    PostgresqlPool,
    drive,
)
from pytuck.errors import ConfigurationError, DatabaseConnectionError
from pytuck.schema import ColumnSchema, TableSchema

__all__ = [
    "PostgresqlDialect",
    "PostgresqlConnection",
    "PostgresqlPool",
    "PostgresqlEngine",
    "mask_dsn",
]

_UTC = dt.timezone.utc
#: Rows from which an insert goes through COPY instead of a pipelined INSERT.
COPY_MIN_ROWS = 16  # measured: COPY beats a pipelined INSERT from ~8 rows, 2.5x at 512
#: PostgreSQL truncates identifiers beyond this many bytes.
_MAX_IDENTIFIER = 63

# SQLSTATE classes and codes (PostgreSQL manual, appendix A).
_CONFLICT_STATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock not available
_CONNECTION_STATES = {"57P01", "57P02", "57P03", "53300"}  # shutdown, cannot connect now, too many
_QUERY_CLASSES = {"22", "42", "0A", "21", "2F", "39", "44", "54"}
_CONNECTION_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.ConnectionDoesNotExistError)


# --- DSNs ------------------------------------------------------------------------------


def mask_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (in the user part and in ``?password=``).

    Example::

        >>> mask_dsn("postgresql://ann:secret@db:5432/app")
        'postgresql://ann:***@db:5432/app'
    """
    scheme, separator, rest = dsn.partition("://")
    if not separator:
        return _mask_password_parameter(dsn)
    authority, query_mark, query = rest.partition("?")
    at = authority.rfind("@")
    if at >= 0 and ":" in authority[:at]:
        user = authority[:at].split(":", 1)[0]
        authority = f"{user}:***{authority[at:]}"
    return f"{scheme}://{authority}{query_mark}{_mask_password_parameter(query)}"


def _mask_password_parameter(text: str) -> str:
    parts = []
    for piece in text.split("&"):
        name, equals, _value = piece.partition("=")
        parts.append(f"{name}=***" if equals and name.strip().lower() == "password" else piece)
    return "&".join(parts)


def _password_of(dsn: str) -> str | None:
    rest = dsn.partition("://")[2]
    authority = rest.partition("?")[0]
    at = authority.rfind("@")
    if at >= 0 and ":" in authority[:at]:
        return authority[:at].split(":", 1)[1] or None
    for piece in rest.partition("?")[2].split("&"):
        name, equals, value = piece.partition("=")
        if equals and name.strip().lower() == "password":
            return value or None
    return None


# --- values -------------------------------------------------------------------------------


def _datetime_to_text(value: dt.datetime) -> str:
    # Aware values arrive in UTC from the model layer; literals may not.
    if value.tzinfo is not None and value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    return value.isoformat(sep=" ", timespec="microseconds")


def _uuid_from_driver(value: Any) -> uuid.UUID:
    # asyncpg returns its own UUID subclass; the contract wants uuid.UUID itself.
    return uuid.UUID(bytes=value.bytes)


#: Python type -> the PostgreSQL type a bound value of it is cast to.
_SQL_TYPES: dict[type, str] = {
    bool: "BOOLEAN",
    int: "BIGINT",
    float: "DOUBLE PRECISION",
    str: "TEXT",
    bytes: "BYTEA",
    dt.datetime: "TEXT",
    dt.date: "DATE",
    dt.time: "TIME",
    dt.timedelta: "INTERVAL",
    Decimal: "NUMERIC",
    uuid.UUID: "UUID",
    list: "TEXT",
    dict: "TEXT",
}

_NUMBER_TYPES = (int, float, Decimal)
_TEXT_TYPES = (str, dt.datetime)
_JSON_TYPES = (list, dict)

#: SQL functions the dialect's SQL calls; created beside the metadata table.
#: Versioned names: a later change of meaning gets a new name, never a new body.
_FUNCTIONS = (
    # The exact value of a double as NUMERIC: sign * mantissa * 2^exponent,
    # read from the IEEE bits (a cast to NUMERIC keeps only 15 digits).
    """CREATE FUNCTION pytuck_exact_v1(x double precision) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE
  WHEN x = 'Infinity'::float8 THEN 'Infinity'::numeric
  WHEN x = '-Infinity'::float8 THEN '-Infinity'::numeric
  WHEN x = 0 THEN 0::numeric
  ELSE (
    SELECT CASE WHEN bits < 0 THEN -1 ELSE 1 END
         * (CASE WHEN e = 0 THEN m ELSE m + 4503599627370496 END)::numeric
         * CASE WHEN e >= 1075 THEN power(2::numeric, e - 1075)
                ELSE power(5::numeric, 1075 - GREATEST(e, 1))
                     * ('1e' || (GREATEST(e, 1) - 1075))::numeric END
    FROM (SELECT bits, (bits >> 52) & 2047 AS e, bits & 4503599627370495 AS m
          FROM (SELECT ('x' || encode(float8send(x), 'hex'))::bit(64)::bigint AS bits) AS raw)
         AS parts)
END
$fn$""",
    # A JSON document as Python's == sees it: true and false are the numbers
    # 1 and 0 (JSONB already equates 1 and 1.0, and ignores key order).
    """CREATE FUNCTION pytuck_json_key_v1(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE jsonb_typeof(j)
  WHEN 'boolean' THEN to_jsonb(CASE WHEN j = 'true'::jsonb THEN 1 ELSE 0 END)
  WHEN 'array' THEN (SELECT coalesce(jsonb_agg(pytuck_json_key_v1(item) ORDER BY position),
                                     '[]'::jsonb)
                     FROM jsonb_array_elements(j) WITH ORDINALITY AS items(item, position))
  WHEN 'object' THEN (SELECT coalesce(jsonb_object_agg(key, pytuck_json_key_v1(value)), '{}'::jsonb)
                      FROM jsonb_each(j) AS members(key, value))
  ELSE j
END
$fn$""",
    # C's fmod, exactly (the remainder of truncated division, sign of x).
    """CREATE FUNCTION pytuck_fmod_v1(x double precision, y double precision)
RETURNS double precision LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF y = 0 OR x IN ('Infinity'::float8, '-Infinity'::float8) THEN RETURN 'NaN'::float8; END IF;
  IF y IN ('Infinity'::float8, '-Infinity'::float8) THEN RETURN x; END IF;
  RETURN CAST(pytuck_exact_v1(x)
              - div(pytuck_exact_v1(x), pytuck_exact_v1(y)) * pytuck_exact_v1(y)
              AS double precision);
END
$fn$""",
    # Python's float % (CPython float_rem): the result takes the divisor's sign.
    """CREATE FUNCTION pytuck_float_mod_v1(x double precision, y double precision)
RETURNS double precision LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE m double precision;
BEGIN
  IF y = 0 THEN RETURN NULL; END IF;
  m := pytuck_fmod_v1(x, y);
  IF m <> 0 THEN
    IF (y < 0) <> (m < 0) THEN m := m + y; END IF;
    RETURN m;
  END IF;
  RETURN CASE WHEN get_byte(float8send(y), 0) >= 128 THEN '-0'::float8 ELSE 0::float8 END;
END
$fn$""",
    # Python's float // (CPython float_divmod), signed zeros included.
    """CREATE FUNCTION pytuck_float_floordiv_v1(x double precision, y double precision)
RETURNS double precision LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE m double precision; d double precision; f double precision;
BEGIN
  IF y = 0 THEN RETURN NULL; END IF;
  m := pytuck_fmod_v1(x, y);
  d := (x - m) / y;
  IF m <> 0 AND (y < 0) <> (m < 0) THEN d := d - 1.0; END IF;
  IF d <> 0 THEN
    f := floor(d);
    IF d - f > 0.5 THEN f := f + 1.0; END IF;
    RETURN f;
  END IF;
  RETURN CASE WHEN (get_byte(float8send(x), 0) >= 128) <> (get_byte(float8send(y), 0) >= 128)
              THEN '-0'::float8 ELSE 0::float8 END;
END
$fn$""",
)


def _create_functions_sql() -> str:
    # One DO block: creating a function that exists (or that a concurrent
    # opener creates at the same moment) is not an error.
    body = "\n".join(
        f"  BEGIN\n    {function};\n"
        "  EXCEPTION WHEN duplicate_function OR unique_violation THEN NULL;\n  END;"
        for function in _FUNCTIONS
    )
    return f"DO $do$\nBEGIN\n{body}\nEND\n$do$"


def _parse_key_detail(detail: str | None) -> tuple[str | None, str | None]:
    """(column, value) from ``Key (col)=(value) already exists.``, or (None, None)."""
    prefix, suffix = "Key (", ") already exists."
    if not detail or not detail.startswith(prefix) or not detail.endswith(suffix):
        return None, None
    body = detail[len(prefix) : -len(suffix)]
    if body.startswith('"'):
        # A quoted identifier: find the closing quote, skipping doubled ones.
        index = 1
        while index < len(body):
            if body[index] == '"':
                if body[index + 1 : index + 2] == '"':
                    index += 2
                    continue
                break
            index += 1
        column = body[1:index].replace('""', '"')
        rest = body[index + 1 :]
    else:
        column, separator, value = body.partition(")=(")
        return (column, value) if separator else (None, None)
    if not rest.startswith(")=("):
        return None, None
    return column, rest[3:]


# --- the dialect ---------------------------------------------------------------------------


class PostgresqlDialect(Dialect):
    """PostgreSQL's SQL: see the module docstring for how each contract rule is kept."""

    name = "postgresql"
    driver_errors = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
    statement_error_keeps_transaction = False

    def __init__(self, schema: str | None = None) -> None:
        self.schema = schema
        self._insert_sql: dict[tuple[str, tuple[str, ...]], str] = {}

    numbered_placeholders = True
    repeat_group_terms = True

    def placeholder(self, position: int) -> str:
        """``$1``, ``$2``, ..."""
        return f"${position}"

    # --- schema ---
    def column_type(self, column: ColumnSchema) -> str:
        """The PostgreSQL type of a column (see the module docstring)."""
        tp = column.type
        if tp is str or tp is dt.datetime:
            return 'TEXT COLLATE "C"'
        if tp is Decimal or tp in _JSON_TYPES:
            return "TEXT"
        return _SQL_TYPES[tp]

    def index_name(self, table: TableSchema, column: ColumnSchema) -> str:
        """``table__column__idx``, shortened with a hash when PostgreSQL would truncate it."""
        name = super().index_name(table, column)
        if len(name.encode()) <= _MAX_IDENTIFIER:
            return name
        digest = hashlib.sha1(name.encode()).hexdigest()[:12]
        head = table.name.encode()[:40].decode(errors="ignore")
        return f"{head}__{digest}__idx"

    def schema_table_sql(self) -> list[str]:
        """The metadata table (schemas and each table's key counter) and the helper functions."""
        return [
            f"CREATE TABLE IF NOT EXISTS {self.quote(self.schema_table)} "
            "(name TEXT NOT NULL PRIMARY KEY, definition TEXT NOT NULL, "
            "next_key BIGINT NOT NULL DEFAULT 1)",
            _create_functions_sql(),
        ]

    def table_dropped(self, name: str) -> None:
        """Forget the cached INSERT statements of a dropped table."""
        for key in [k for k in self._insert_sql if k[0] == name]:
            self._insert_sql.pop(key, None)

    # --- values ---
    def to_driver(self, tp: type) -> Adapter:
        """Native values for native types; text for datetime, Decimal and JSON."""
        if tp is dt.datetime:
            return _datetime_to_text
        if tp is Decimal or tp in _JSON_TYPES:
            return super().to_driver(tp)
        return None

    def from_driver(self, tp: type) -> Adapter:
        """The inverse of :meth:`to_driver`; asyncpg's UUID becomes ``uuid.UUID``."""
        if tp is dt.datetime:
            return dt.datetime.fromisoformat
        if tp is uuid.UUID:
            return _uuid_from_driver
        if tp is Decimal or tp in _JSON_TYPES:
            return super().from_driver(tp)
        return None

    # --- operands ---
    def bound_value(self, operand: Operand) -> str:
        """A bound value where no other hook sees it (``SELECT $1``, ``$1 IS NULL``):
        PostgreSQL cannot infer its type from the context, so it is named. A
        Decimal stays its exact text (NUMERIC would print ``1E+3`` as ``1000``)."""
        if operand.is_literal and operand.type is Decimal:
            return f"CAST({operand.sql} AS TEXT)"
        return self._typed(operand)

    @staticmethod
    def _typed(operand: Operand) -> str:
        """A bound value with its type named: PostgreSQL cannot infer ``$1 + $2``."""
        tp = operand.type
        if operand.is_literal and tp is not None and tp in _SQL_TYPES:
            return f"CAST({operand.sql} AS {_SQL_TYPES[tp]})"
        return operand.sql

    def _numeric(self, operand: Operand) -> str:
        """An int, float or Decimal operand as its exact NUMERIC value."""
        if operand.type is float:
            return f"pytuck_exact_v1({self._typed(operand)})"
        if operand.type is Decimal:
            if operand.column is not None or operand.is_literal:
                return f"CAST({operand.sql} AS NUMERIC)"
            return operand.sql  # an expression of Decimal type is NUMERIC already
        return f"CAST({self._typed(operand)} AS NUMERIC)"

    def _value(self, operand: Operand) -> str:
        """An operand as PostgreSQL should compute with it."""
        if operand.type is Decimal:
            return self._numeric(operand)
        return self._typed(operand)

    def _prepared(self, operand: Operand) -> Operand:
        return operand._replace(sql=self._value(operand), is_literal=False, column=None)

    def _compare_sides(self, operands: Sequence[Operand]) -> list[str]:
        """Both (or all) sides of a comparison, made comparable as Python compares them."""
        types = {o.type for o in operands} - {None}
        if any(t in _JSON_TYPES for t in types):
            # Documents are equal as Python's == says (1 == 1.0 == True), not as text.
            return [
                o.sql if o.type is None else f"pytuck_json_key_v1(CAST({self._typed(o)} AS JSONB))"
                for o in operands
            ]
        if len(types) > 1 and types <= set(_NUMBER_TYPES):
            return [o.sql if o.type is None else self._numeric(o) for o in operands]
        sides = [self._value(o) for o in operands]
        if types and types <= set(_TEXT_TYPES) and all(o.column is None for o in operands):
            # Text columns are declared COLLATE "C"; only bare values need it named.
            sides[-1] = f'{sides[-1]} COLLATE "C"'
        return sides

    # --- expressions ---
    def comparison(self, op: str, left: Operand, right: Operand) -> str:
        """Exact across number types, by code point for text, as JSON values for documents."""
        first, second = self._compare_sides([left, right])
        return f"{first} {op} {second}"

    def in_list(self, operand: Operand, values: Sequence[Operand], negate: bool) -> str:
        """``[NOT] IN`` with the same value rules as :meth:`comparison`."""
        sides = self._compare_sides([operand, *values])
        if sides[-1].endswith(' COLLATE "C"') and len(sides) > 2:
            sides = [sides[0] + ' COLLATE "C"', *sides[1:-1], sides[-1][: -len(' COLLATE "C"')]]
        word = "NOT IN" if negate else "IN"
        return f"{sides[0]} {word} ({', '.join(sides[1:])})"

    def like(self, operand: Operand, pattern: Operand, fold_case: bool) -> str:
        """LIKE is case-sensitive in PostgreSQL; folding uses TRANSLATE (ASCII only)."""
        return super().like(self._prepared(operand), self._prepared(pattern), fold_case)

    def arithmetic(self, op: str, left: Operand, right: Operand, result_type: type) -> str:
        """The portable rules on typed operands; float ``//`` and ``%`` as CPython computes them."""
        if result_type is float and op in ("floordiv", "mod"):
            a, b = self._as_float(left), self._as_float(right)
            name = "pytuck_float_floordiv_v1" if op == "floordiv" else "pytuck_float_mod_v1"
            return f"{name}({a}, {b})"
        return super().arithmetic(op, self._prepared(left), self._prepared(right), result_type)

    def _as_float(self, operand: Operand) -> str:
        if operand.type is float:
            return self._typed(operand)
        if operand.type is Decimal and operand.column is None and not operand.is_literal:
            return f"CAST({operand.sql} AS DOUBLE PRECISION)"
        return f"CAST({self._typed(operand)} AS DOUBLE PRECISION)"

    def aggregate(
        self, name: str, arg: Operand | None, distinct: bool, result_type: type | None
    ) -> str:
        """count/sum/avg/min/max with the contract's result types (see the module docstring)."""
        if arg is None:
            return "COUNT(*)"
        prefix = "DISTINCT " if distinct else ""
        tp = arg.type
        inner = self._value(arg)
        if tp in _TEXT_TYPES and arg.column is None:
            inner = f'{inner} COLLATE "C"'
        if name == "count":
            return f"COUNT({prefix}{inner})"
        if name == "sum":
            total = f"SUM({prefix}{inner})"
            return f"CAST({total} AS BIGINT)" if result_type is int else total
        if name == "avg":
            return (
                f"(CAST(SUM({prefix}{inner}) AS DOUBLE PRECISION) / COUNT({prefix}{inner}))"
            )
        if tp is bool:
            return f"{'BOOL_AND' if name == 'min' else 'BOOL_OR'}({inner})"
        if tp is uuid.UUID:
            return f'CAST({name.upper()}(CAST({inner} AS TEXT) COLLATE "C") AS UUID)'
        if tp is bytes:
            return f"DECODE({name.upper()}(ENCODE({inner}, 'hex') COLLATE \"C\"), 'hex')"
        return f"{name.upper()}({prefix}{inner})"

    def order_term(self, operand: Operand, descending: bool, nulls_first: bool) -> str:
        """ORDER BY by the contract's order: numerically for Decimal, by code point for text."""
        sql = self._value(operand)
        if operand.type in _TEXT_TYPES and operand.column is None:
            sql = f'{sql} COLLATE "C"'
        return super().order_term(operand._replace(sql=sql), descending, nulls_first)

    def group_term(self, operand: Operand) -> str:
        """GROUP BY as Python's ``==``: Decimals numerically (1.5 with 1.50)."""
        return self._value(operand)

    def distinct_item(self, operand: Operand) -> str:
        """DISTINCT compares as grouping does."""
        return self._value(operand)

    def boolean_constant(self, value: bool) -> str:
        """``TRUE`` / ``FALSE``."""
        return "TRUE" if value else "FALSE"

    # --- keys and bulk load ---
    def reserve_keys(self, connection: Connection, table: TableSchema, count: int) -> int:
        """Take ``count`` keys from the table's counter (its own autocommit statement)."""
        link = cast(PostgresqlConnection, connection)
        first = link.keys.reserve(self, table.name, count)
        link.key_floor[table.name] = max(link.key_floor.get(table.name, 0), first + count)
        return first

    def keys_inserted(self, connection: Connection, table: TableSchema, highest: int) -> None:
        """Nothing left to do: :meth:`bulk_insert` moved the counter before the rows went in."""

    def bulk_insert(
        self, connection: Connection, table: TableSchema, rows: Sequence[Sequence[Any]]
    ) -> int:
        """COPY for many rows, a pipelined INSERT for few.

        An explicit integer key at or above the table's counter first moves the
        counter past it, so no later assigned key can collide with it.
        """
        link = cast(PostgresqlConnection, connection)
        key_column = table.column(table.primary_key)
        if key_column.autoincrement:
            position = table.column_names.index(key_column.name)
            keys = [row[position] for row in rows if isinstance(row[position], int)]
            if keys:
                highest = max(keys)
                if highest >= link.key_floor.get(table.name, 0):
                    link.key_floor[table.name] = link.keys.advance(self, table.name, highest + 1)
        names = table.column_names
        if len(rows) >= COPY_MIN_ROWS:
            link.copy(table.name, self.schema, names, rows)
            return len(rows)
        key = (table.name, names)
        sql = self._insert_sql.get(key)
        if sql is None:
            columns = ", ".join(self.quote(n) for n in names)
            marks = ", ".join(self.placeholder(i + 1) for i in range(len(names)))
            sql = f"INSERT INTO {self.quote(table.name)} ({columns}) VALUES ({marks})"
            self._insert_sql[key] = sql
        link.insert_many(sql, rows)
        return len(rows)

    # --- errors ---
    def classify_error(self, error: BaseException) -> DriverError:
        """Map asyncpg exceptions by SQLSTATE."""
        if isinstance(error, asyncpg.UniqueViolationError):
            if getattr(error, "schema_name", None) == "pg_catalog":
                # Two openers creating one table, schema or function at once:
                # the loser retries against what the winner created.
                return DriverError(ErrorKind.CONFLICT)
            column, value = _parse_key_detail(getattr(error, "detail", None))
            return DriverError(ErrorKind.UNIQUE, column=column, value=value)
        if isinstance(error, asyncpg.NotNullViolationError):
            return DriverError(ErrorKind.NOT_NULL, column=getattr(error, "column_name", None))
        state = str(getattr(error, "sqlstate", "") or "")
        if state in _CONFLICT_STATES:
            return DriverError(ErrorKind.CONFLICT)
        if state == "25006":
            return DriverError(ErrorKind.READ_ONLY)
        if (
            state.startswith("08")
            or state in _CONNECTION_STATES
            or isinstance(error, _CONNECTION_ERRORS)
        ):
            return DriverError(ErrorKind.CONNECTION)
        if isinstance(error, asyncpg.InterfaceError):
            # Misuse the driver caught: a value of the wrong type for its parameter.
            return DriverError(ErrorKind.QUERY)
        if state[:2] in _QUERY_CLASSES:
            return DriverError(ErrorKind.QUERY)
        return DriverError(ErrorKind.OTHER)


# --- the engine ----------------------------------------------------------------------------


def _positive(name: str, value: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        value < 0 or (value == 0 and not allow_zero)
    ):
        raise ConfigurationError(
            f"the postgresql option {name} must be a "
            f"{'non-negative' if allow_zero else 'positive'} number, got {value!r}"
        )
    return float(value)


class PostgresqlEngine(SqlEngine):
    """``Storage("postgresql://user:pw@host:port/db")``: a PostgreSQL database through asyncpg.

    Args:
        path: the DSN (``postgresql://`` or ``postgres://``).
        schema: keep every table (and the metadata table) in this schema,
            created when missing; default: the server's search_path.
        connect_timeout: seconds to reach the server before DatabaseConnectionError.
        min_size: connections opened at once and kept open.
        max_size: connections open at most (one per open transaction).
        acquire_timeout: seconds a new transaction waits for a free connection.
        lock_timeout: seconds a write waits for a row lock before ConflictError
            (0: wait for ever). Two sessions of one thread writing one row
            would otherwise wait for each other for ever.
        statement_cache_size: prepared statements kept per connection.
        application_name: the name the server shows for these connections.
        auto_flush: accepted and ignored: every commit is durable when it returns.
        read_only: refuse every write (PostgreSQL is told too:
            ``default_transaction_read_only``).

    Raises:
        ConfigurationError: no DSN, or a bad option.
        DatabaseConnectionError: the server cannot be reached in time, refuses
            the login, or has no such database (the DSN shown password-masked).

    Example::

        db = Storage("postgresql://app@127.0.0.1:5432/shop", schema="tests", max_size=4)
    """

    name = "postgresql"
    capabilities = Capabilities(persistent=True, sql=True, savepoints=True, multi_process=True)

    def __init__(
        self,
        path: str | None = None,
        *,
        schema: str | None = None,
        connect_timeout: float = 5.0,
        min_size: int = 1,
        max_size: int = 10,
        acquire_timeout: float = 30.0,
        lock_timeout: float = 10.0,
        statement_cache_size: int = 256,
        application_name: str = "pytuck",
        auto_flush: bool = True,
        read_only: bool = False,
        **options: Any,
    ) -> None:
        if options:
            raise ConfigurationError(
                "the postgresql engine takes the options schema, connect_timeout, min_size, "
                "max_size, acquire_timeout, lock_timeout, statement_cache_size, application_name, "
                f"auto_flush and read_only; got unknown {sorted(options)}"
            )
        if not path or not isinstance(path, str):
            raise ConfigurationError(
                "the postgresql engine needs a DSN, such as postgresql://user@host:5432/database"
            )
        if schema is not None and (not isinstance(schema, str) or not schema or "\x00" in schema):
            raise ConfigurationError(f"schema must be a non-empty name, got {schema!r}")
        for name, value in (("min_size", min_size), ("max_size", max_size),
                            ("statement_cache_size", statement_cache_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(
                    f"the postgresql option {name} must be a non-negative int, got {value!r}"
                )
        self.connect_timeout = _positive("connect_timeout", connect_timeout)
        acquire = _positive("acquire_timeout", acquire_timeout)
        lock_wait = _positive("lock_timeout", lock_timeout, allow_zero=True)
        self.dsn = path
        self.schema = schema
        masked = mask_dsn(path)
        settings = {
            "application_name": str(application_name),
            "lock_timeout": str(int(lock_wait * 1000)),
        }
        dialect = PostgresqlDialect(schema)
        if schema is not None:
            settings["search_path"] = dialect.quote(schema)
        if read_only:
            settings["default_transaction_read_only"] = "on"
        self._settings = settings
        self._statement_cache_size = statement_cache_size
        try:
            loops = LoopPool(
                self._connect, masked, min_size=min_size, max_size=max_size, acquire_timeout=acquire
            )
        except ValueError as exc:
            raise ConfigurationError(f"the postgresql pool: {exc}") from None
        keys = KeyCounter(self._open_key_connection)
        pool = PostgresqlPool(loops, keys)
        try:
            loops.open()
            if schema is not None and not read_only:
                self._create_schema(loops, dialect.quote(schema))
        except BaseException:
            pool.close()
            raise
        super().__init__(dialect, pool, path, read_only=read_only)

    # --- connecting ---
    async def _connect(self, **settings: str) -> Any:
        """Open one asyncpg connection, turning every failure into DatabaseConnectionError.

        ``settings`` are server settings beyond the engine's own.
        """
        try:
            return await asyncpg.connect(
                self.dsn,
                timeout=self.connect_timeout,
                server_settings={**self._settings, **settings},
                statement_cache_size=self._statement_cache_size,
            )
        except (asyncio.TimeoutError, TimeoutError) as exc:
            wait = f"no answer within connect_timeout={self.connect_timeout:g} s"
            raise self._unreachable(wait) from exc
        except OSError as exc:
            raise self._unreachable(exc.strerror or str(exc) or type(exc).__name__) from exc
        except asyncpg.PostgresError as exc:
            raise self._unreachable(f"the server refused: {exc}") from exc
        except (asyncpg.InterfaceError, ValueError, TypeError) as exc:
            raise self._unreachable(f"the DSN is not usable: {exc}") from exc

    def _unreachable(self, reason: str) -> DatabaseConnectionError:
        password = _password_of(self.dsn)
        if password:
            reason = reason.replace(password, "***")
        masked = mask_dsn(self.dsn)
        return DatabaseConnectionError(
            f"cannot connect to PostgreSQL at {masked}: {reason}; check that the server is "
            "running and that the DSN's host, port, user and database are right",
            details={"location": masked},
        )

    def _open_key_connection(self) -> LoopConnection:
        # The counter's own commits need not wait for the disk: a transaction
        # that commits rows with reserved keys flushes the WAL up to and past
        # the reservation (WAL is written in order), so a crash can only lose
        # reservations whose keys no committed row holds.
        loop = asyncio.new_event_loop()
        try:
            raw = drive(loop, self._connect(synchronous_commit="off"))
        except BaseException:
            loop.close()
            raise
        return LoopConnection(raw, loop)

    def _create_schema(self, loops: LoopPool, quoted: str) -> None:
        link = loops.acquire()
        try:
            try:
                link.run(link.raw.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
            except asyncpg.UniqueViolationError:
                pass  # another process created it at the same moment
            except asyncpg.PostgresError as exc:
                raise DatabaseConnectionError(
                    f"cannot create schema {self.schema!r} in {mask_dsn(self.dsn)}: {exc}; "
                    "create it yourself or grant CREATE on the database",
                    details={"location": mask_dsn(self.dsn)},
                ) from exc
        finally:
            loops.release(link)



register_engine("postgresql", PostgresqlEngine, aliases=("postgres",))
