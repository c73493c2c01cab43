"""The DuckDB engine: ``Storage("data.duckdb", engine="duckdb")`` on the duckdb driver.

One database instance per file and process (DuckDB locks the file against
other processes), shared by every ``Storage`` of that file in the process;
each transaction gets its own connection from it (``cursor()``), so sessions
are isolated from each other, even in one thread, and reads from several
threads run in parallel.

How DuckDB is made to keep the contract (DESIGN.md), rule by rule:

* **Savepoints.** DuckDB has no SAVEPOINT. Each transaction's connection
  keeps a log of the writes it ran; a savepoint is a position in that log,
  and rolling back to it is ROLLBACK, BEGIN and replaying the log up to the
  position. The same replay makes every statement atomic: DuckDB aborts the
  whole transaction on any error (a duplicate key, an overflow, a bad query),
  so after an error the connection restores the transaction as it was before
  the failed statement, and the session can go on as on the other engines.
* **Lost updates.** DuckDB refuses a write over a row another transaction
  changed after this one began, but not always: whether it notices depends
  on how the other write was made (on duckdb 2.0.1, a DELETE after another
  transaction's UPDATE without RETURNING of the row passes silently). A
  ledger per database (:class:`_Ledger`) therefore remembers which rows each
  commit changed; an update or delete of a row changed by a commit after this
  transaction began raises ConflictError (first committer wins, as the memory
  engine does), checked when the write runs and again, under the commit lock,
  at commit.
* **Unique keys.** DuckDB reports a duplicate at the statement, or at commit
  when two transactions inserted one value; both become DuplicateKeyError with
  the memory engine's message (a failed commit is probed on a fresh connection
  to name the table, column and value).
* **Integer keys** left empty come from a per-table counter of the database
  instance (:class:`_Keys`): increasing, never reused, past every explicit
  key. DuckDB sequences cannot be moved forward past an explicit key, and the
  counter needs no shared row that concurrent inserts would fight over. It
  starts from the highest stored key, and a transaction that deletes rows
  also writes the counter's high-water mark into ``_pytuck_keys``, so a
  deleted highest key is not handed out again after reopening.
* **Decimal** keeps digits and scale: a ``STRUCT(key VARCHAR, text VARCHAR)``
  holding the exact text and an order-preserving key (:func:`decimal_key`,
  equal for ``1.5`` and ``1.50``), so comparisons, ordering, grouping,
  DISTINCT and unique indexes are exact and native. Arithmetic, sum and avg
  over Decimals, and comparisons of a Decimal with a float, run in Python
  functions registered on the database, computing exactly as the memory
  engine does. (DuckDB's DECIMAL(p, s) has a fixed scale and at most 38
  digits, so it can keep neither ``1.50`` next to ``1.5`` nor the contract's
  widest values.)
* **datetime** is ``STRUCT(utc TIMESTAMP, aware BOOLEAN)``: the UTC wall clock
  (compared, ordered and indexed natively) and whether the value was aware,
  so naive and aware values in one column each come back as they went in.
* **timedelta** is BIGINT microseconds (exact over the contract's range;
  DuckDB's INTERVAL compares months as 30 days). UUID, DATE, TIME, BLOB and
  BOOLEAN are native; list/dict are JSON text with sorted keys, compared as
  Python's ``==`` compares documents (``{"a": 1} == {"a": 1.0}``) through a
  registered function, grouped and made DISTINCT by their exact text.
* **Numbers.** int compared with float is exact (Python compares them
  exactly; DuckDB would round the int to a double); ``//`` floors and ``%``
  takes the divisor's sign; floats' ``//`` and ``%`` run in Python (DuckDB's
  ``//`` on doubles does not floor); ``sum`` of ints is DuckDB's HUGEINT,
  which arrives as a Python int.
* **Grouping.** DuckDB binds a selected expression to a GROUP BY term only
  when both are the same expression, and two bound values never are
  (``i % ?`` twice); Decimals group by key, not by the selected struct. Such
  grouped SELECTs wrap their plain items and order terms in ``min``, which
  picks one of a group's equal values (:func:`_grouped_for_duckdb`).
* **Text.** ``like`` is case-sensitive in DuckDB; ``ilike`` folds ASCII only
  with TRANSLATE (DuckDB's ILIKE and lower() fold all of Unicode). VARCHAR
  compares by bytes, which orders UTF-8 by code point.
* **Bulk insert** goes through Arrow: the rows become a ``pyarrow.Table``,
  registered on the connection and inserted with one INSERT ... SELECT
  (measured at 100k rows: ~0.3 s, where executemany costs ~0.5 ms a row,
  ~50 s); up to ``_VALUES_ROWS`` rows go in as one multi-row VALUES.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import orjson

from pytuck.engines.base import Capabilities, register_engine
from pytuck.engines.sql.dialect import Adapter, Dialect, DriverError, ErrorKind, Operand
from pytuck.engines.sql.engine import (
    Connection,
    SimplePool,
    SqlEngine,
    SqlTransaction,
    duplicate_error,
)
from pytuck.errors import (
    ConfigurationError,
    ConflictError,
    CorruptDatabaseError,
    DatabaseConnectionError,
    PytuckError,
)
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
from pytuck.schema import ColumnSchema, TableSchema
from pytuck.types import INT64_MAX, INT64_MIN

try:  # the Arrow bulk path; without pyarrow, rows go in as multi-row VALUES
    import pyarrow as pa  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - pyarrow is part of the duckdb extra
    pa = None

__all__ = [
    "DuckdbDialect",
    "DuckdbConnection",
    "DuckdbTransaction",
    "DuckdbEngine",
    "decimal_key",
    "decimal_from_key",
]

_UTC = dt.timezone.utc
_DECIMAL_SQL = "STRUCT(key VARCHAR, text VARCHAR)"
_DATETIME_SQL = "STRUCT(utc TIMESTAMP, aware BOOLEAN)"
_KEYS_TABLE = "_pytuck_keys"
#: Rows inserted with one multi-row VALUES statement; more go through Arrow
#: (measured: VALUES is faster up to ~30 rows, 0.5 ms for one row vs 1.3 ms).
_VALUES_ROWS = 24
#: Rows per UPDATE ... FROM (VALUES ...) statement of update_rows().
_UPDATE_CHUNK = 500


# --- Decimal keys -------------------------------------------------------------------------

_COMPLEMENT = str.maketrans("0123456789", "9876543210")
# Exponents are written with 19 digits around this bias: wide enough for any
# exponent Python's decimal module can hold (|exponent| < 2 * 10**18).
_EXPONENT_BIAS = 2 * 10**18
_EXPONENT_WIDTH = 19


def decimal_key(value: Decimal) -> str:
    """Text that sorts, byte by byte, as the Decimal values sort; equal for equal values.

    ``1.5`` and ``1.50`` get one key; zero (any sign or scale) is ``"1"``;
    positive values start ``"2"`` + exponent + digits; negative ones ``"0"`` +
    the complemented exponent and digits + ``"~"`` (so a shorter digit run,
    the larger negative value, sorts after a longer one it prefixes);
    infinities (a float literal compared with Decimals) ``"/"`` and ``"3"``.

    Example::

        decimal_key(Decimal("1.50")) == decimal_key(Decimal("1.5"))
        decimal_key(Decimal("-2")) < decimal_key(Decimal("0")) < decimal_key(Decimal("0.1"))
    """
    if value.is_infinite():  # a float infinity compared with Decimals, bound exactly
        return "/" if value < 0 else "3"
    sign, digit_tuple, _ = value.as_tuple()
    digits = "".join(map(str, digit_tuple)).strip("0")
    if not digits:
        return "1"
    adjusted = value.adjusted()
    if sign == 0:
        return "2" + str(_EXPONENT_BIAS + adjusted).zfill(_EXPONENT_WIDTH) + digits
    complemented = digits.translate(_COMPLEMENT)
    return "0" + str(_EXPONENT_BIAS - adjusted).zfill(_EXPONENT_WIDTH) + complemented + "~"


def decimal_from_key(key: str) -> Decimal:
    """The Decimal a :func:`decimal_key` stands for (normalized: ``1.5``, not ``1.50``)."""
    if key == "1":
        return Decimal(0)
    if key in ("/", "3"):
        return Decimal("-Infinity" if key == "/" else "Infinity")
    exponent_text = key[1 : 1 + _EXPONENT_WIDTH]
    if key[0] == "2":
        adjusted = int(exponent_text) - _EXPONENT_BIAS
        digits, sign = key[1 + _EXPONENT_WIDTH :], 0
    else:
        adjusted = _EXPONENT_BIAS - int(exponent_text)
        digits, sign = key[1 + _EXPONENT_WIDTH : -1].translate(_COMPLEMENT), 1
    return Decimal((sign, tuple(int(d) for d in digits), adjusted - len(digits) + 1))


# --- values: Python <-> driver ------------------------------------------------------------


def _decimal_to_driver(value: Any) -> dict[str, str]:
    number = value if isinstance(value, Decimal) else Decimal(value)
    return {"key": decimal_key(number), "text": str(number)}


def _decimal_from_driver(value: Any) -> Decimal:
    if isinstance(value, dict):
        return Decimal(value["text"])
    if isinstance(value, str):  # a DISTINCT item: the key alone
        return decimal_from_key(value)
    return Decimal(value)


def _datetime_to_driver(value: dt.datetime) -> dict[str, Any]:
    if value.tzinfo is None:
        return {"utc": value, "aware": False}
    if value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    return {"utc": value.replace(tzinfo=None), "aware": True}


def _datetime_from_driver(value: dict[str, Any]) -> dt.datetime:
    moment: dt.datetime = value["utc"]
    return moment.replace(tzinfo=_UTC) if value["aware"] else moment


def _uuid_text(value: Any) -> Any:
    return None if value is None else str(value)


def _arrow_type(tp: type) -> Any:
    """The Arrow type a column's driver values are loaded through (bulk insert)."""
    if tp is bool:
        return pa.bool_()
    if tp is int or tp is dt.timedelta:
        return pa.int64()
    if tp is float:
        return pa.float64()
    if tp is bytes:
        return pa.binary()
    if tp is dt.date:
        return pa.date32()
    if tp is dt.time:
        return pa.time64("us")
    if tp is dt.datetime:
        return pa.struct([("utc", pa.timestamp("us")), ("aware", pa.bool_())])
    if tp is Decimal:
        return pa.struct([("key", pa.string()), ("text", pa.string())])
    return pa.string()  # str, UUID (as text), JSON documents


# --- Python functions registered on every database ----------------------------------------


def _floor_divmod_decimal(a: Decimal, b: Decimal) -> tuple[Decimal, Decimal]:
    # Decimal's // and % truncate; the contract floors, as int and float do.
    quotient, remainder = a // b, a % b
    if remainder and (remainder < 0) != (b < 0):
        quotient -= 1
        remainder += b
    return quotient, remainder


def _decimal_arith(op: str | None, left: str | None, right: str | None) -> dict[str, str] | None:
    """``left op right`` over Decimal (or int) text, exactly as the memory engine computes it."""
    if op is None or left is None or right is None:
        return None
    a, b = Decimal(left), Decimal(right)
    if op == "add":
        result = a + b
    elif op == "sub":
        result = a - b
    elif op == "mul":
        result = a * b
    elif b == 0:
        return None  # division by zero is NULL on every engine
    else:
        quotient, remainder = _floor_divmod_decimal(a, b)
        result = quotient if op == "floordiv" else remainder
    return _decimal_to_driver(result)


def _float_arith(op: str | None, left: float | None, right: float | None) -> float | None:
    """Python's ``//`` and ``%`` of floats (DuckDB's ``//`` of doubles does not floor)."""
    if op is None or left is None or right is None or right == 0:
        return None
    return left // right if op == "floordiv" else left % right


def _decimal_compare(left: str | None, right: float | None) -> int | None:
    """-1, 0 or 1 comparing Decimal text with a float exactly, as Python does."""
    if left is None or right is None:
        return None
    a = Decimal(left)
    return int(a > right) - int(a < right)


def _decimal_of_text(text: str) -> dict[str, str]:
    return _decimal_to_driver(Decimal(text))


def _decimal_values(values: Iterable[str | None] | None) -> list[Decimal]:
    return [Decimal(v) for v in values or () if v is not None]


def _decimal_sum(values: list[str | None] | None) -> dict[str, str] | None:
    numbers = _decimal_values(values)
    return _decimal_to_driver(sum(numbers)) if numbers else None


def _decimal_avg(values: list[str | None] | None) -> float | None:
    numbers = _decimal_values(values)
    return float(sum(numbers)) / len(numbers) if numbers else None


def _json_equality_form(value: Any) -> Any:
    # Python's == on documents compares numbers by value: True == 1 == 1.0.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer() and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    if isinstance(value, list):
        return [_json_equality_form(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_equality_form(item) for key, item in value.items()}
    return value


def _json_key(text: str) -> str:
    """JSON text equal for documents Python's ``==`` finds equal (``[1]`` and ``[1.0]``)."""
    document = _json_equality_form(orjson.loads(text))
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def _register_functions(raw: duckdb.DuckDBPyConnection) -> None:
    # Types by name: the Python type objects moved between duckdb releases
    # (duckdb.typing in 1.x, duckdb.sqltypes in 2.x); names work in both.
    special: Any = "special"
    default: Any = "default"
    functions: list[tuple[str, Callable[..., Any], list[str], str, Any]] = [
        ("pytuck_decimal", _decimal_of_text, ["VARCHAR"], _DECIMAL_SQL, default),
        ("pytuck_json_key", _json_key, ["VARCHAR"], "VARCHAR", default),
        ("pytuck_decimal_arith", _decimal_arith, ["VARCHAR"] * 3, _DECIMAL_SQL, special),
        ("pytuck_float_arith", _float_arith, ["VARCHAR", "DOUBLE", "DOUBLE"], "DOUBLE", special),
        ("pytuck_decimal_compare", _decimal_compare, ["VARCHAR", "DOUBLE"], "INTEGER", special),
        ("pytuck_decimal_sum", _decimal_sum, ["VARCHAR[]"], _DECIMAL_SQL, special),
        ("pytuck_decimal_avg", _decimal_avg, ["VARCHAR[]"], "DOUBLE", special),
    ]
    for name, function, parameters, result, nulls in functions:
        types: Any = parameters
        returns: Any = result
        raw.create_function(name, function, types, returns, null_handling=nulls)


# --- the dialect --------------------------------------------------------------------------


def _struct_sql(tp: type | None) -> str | None:
    if tp is Decimal:
        return _DECIMAL_SQL
    if tp is dt.datetime:
        return _DATETIME_SQL
    return None


def _field(operand: Operand, name: str) -> str:
    """A field of a Decimal or datetime struct operand (a bound value is typed first)."""
    sql = operand.sql
    struct = _struct_sql(operand.type)
    if operand.is_literal and struct is not None:
        sql = f"CAST({sql} AS {struct})"
    return f"({sql}).{name}"


def _index_target(table: TableSchema, column: ColumnSchema, quote: Callable[[str], str]) -> str:
    """What an index of ``column`` covers: Decimal by value, datetime by instant
    (a unique datetime: naive and aware spellings of one UTC clock collide, as in
    the memory engine; the key keeps them apart, as Python's ``==`` does)."""
    name = quote(column.name)
    if column.type is Decimal:
        return f"(({name}).key)"
    if column.type is dt.datetime:
        if column.primary_key:
            return f"(({name}).utc), (({name}).aware)"
        return f"(({name}).utc)"
    return name


class DuckdbDialect(Dialect):
    """DuckDB's SQL: see the module docstring for how each contract rule is kept."""

    name = "duckdb"
    driver_errors = (duckdb.Error,)
    # The connection restores the transaction after a failed statement (see
    # DuckdbConnection), so follow-up questions are safe.
    statement_error_keeps_transaction = True

    # --- schema ---
    def column_type(self, column: ColumnSchema) -> str:
        """DuckDB types; Decimal and datetime are structs (module docstring)."""
        tp = column.type
        if tp is bool:
            return "BOOLEAN"
        if tp is int or tp is dt.timedelta:
            return "BIGINT"
        if tp is float:
            return "DOUBLE"
        if tp is bytes:
            return "BLOB"
        if tp is dt.date:
            return "DATE"
        if tp is dt.time:
            return "TIME"
        if tp is uuid.UUID:
            return "UUID"
        if tp is list or tp is dict:
            return "JSON"
        return _struct_sql(tp) or "VARCHAR"

    def column_definition(self, table: TableSchema, column: ColumnSchema) -> str:
        """Struct columns get their key and unique constraints as indexes on a field."""
        if _struct_sql(column.type) is None:
            return super().column_definition(table, column)
        parts = [self.quote(column.name), self.column_type(column)]
        if not column.nullable or column.primary_key:
            parts.append("NOT NULL")
        return " ".join(parts)

    def create_table_sql(self, table: TableSchema) -> list[str]:
        """CREATE TABLE, then the indexes (struct keys and unique columns by expression)."""
        columns = ", ".join(self.column_definition(table, c) for c in table.columns)
        statements = [f"CREATE TABLE {self.quote(table.name)} ({columns})"]
        for column in table.columns:
            struct = _struct_sql(column.type) is not None
            unique = column.primary_key or column.unique
            if unique and not struct:
                continue  # PRIMARY KEY / UNIQUE in the column definition
            if not unique and column.index is None:
                continue
            kind = "UNIQUE INDEX" if unique else "INDEX"
            statements.append(
                f"CREATE {kind} {self.quote(self.index_name(table, column))} "
                f"ON {self.quote(table.name)} ({_index_target(table, column, self.quote)})"
            )
        return statements

    def schema_table_sql(self) -> list[str]:
        """The schema table, and ``_pytuck_keys`` (high-water marks of integer keys)."""
        return [
            *super().schema_table_sql(),
            f"CREATE TABLE IF NOT EXISTS {self.quote(_KEYS_TABLE)} "
            "(name VARCHAR NOT NULL, high BIGINT NOT NULL)",
        ]

    # --- values ---
    def to_driver(self, tp: type) -> Adapter:
        """Structs for Decimal and datetime; UUID, date and time go as they are."""
        if tp is Decimal:
            return _decimal_to_driver
        if tp is dt.datetime:
            return _datetime_to_driver
        if tp in (uuid.UUID, dt.date, dt.time):
            return None
        return super().to_driver(tp)

    def from_driver(self, tp: type) -> Adapter:
        """The inverse of :meth:`to_driver`; natives need nothing."""
        if tp is Decimal:
            return _decimal_from_driver
        if tp is dt.datetime:
            return _datetime_from_driver
        if tp in (uuid.UUID, dt.date, dt.time, bool, float, int, str, bytes):
            return None
        return super().from_driver(tp)

    # --- expressions ---
    def comparison(self, op: str, left: Operand, right: Operand) -> str:
        """Decimals by key (a float side exactly, in Python); datetimes by UTC clock;
        int against float exactly."""
        types = {left.type, right.type}
        if Decimal in types:
            if types <= {Decimal, None}:
                return f"{self._decimal_key(left)} {op} {self._decimal_key(right)}"
            if types == {Decimal, float}:
                if left.type is Decimal:
                    return f"pytuck_decimal_compare({_field(left, 'text')}, {right.sql}) {op} 0"
                return f"0 {op} pytuck_decimal_compare({_field(right, 'text')}, {left.sql})"
            if types == {Decimal, int}:
                return f"{self._decimal_key(left)} {op} {self._decimal_key(right)}"
        if dt.datetime in types and types <= {dt.datetime, None}:
            return f"{self._instant(left)} {op} {self._instant(right)}"
        if types == {int, float}:
            return self._int_float_comparison(op, left, right)
        if types & {list, dict}:
            return f"{self._document(left)} {op} {self._document(right)}"
        return f"{left.sql} {op} {right.sql}"

    @staticmethod
    def _document(operand: Operand) -> str:
        if operand.type is list or operand.type is dict:
            return f"pytuck_json_key(CAST({operand.sql} AS VARCHAR))"
        return operand.sql

    @staticmethod
    def _decimal_key(operand: Operand) -> str:
        if operand.type is int:
            return f"(pytuck_decimal(CAST({operand.sql} AS VARCHAR))).key"
        if operand.type is Decimal:
            return _field(operand, "key")
        return operand.sql

    @staticmethod
    def _instant(operand: Operand) -> str:
        return _field(operand, "utc") if operand.type is dt.datetime else operand.sql

    @staticmethod
    def _int_float_comparison(op: str, left: Operand, right: Operand) -> str:
        # Python compares int and float exactly. Rounding the int to a double
        # keeps the order whenever the two doubles differ; when they are equal
        # the float is a whole number, and comparing it as HUGEINT is exact.
        whole, real = (left, right) if left.type is int else (right, left)
        as_double = f"CAST({whole.sql} AS DOUBLE)"
        exact_real = f"CAST({real.sql} AS HUGEINT)"
        if left.type is int:
            exact = f"{left.sql} {op} {exact_real}"
            rounded = f"{as_double} {op} {right.sql}"
        else:
            exact = f"{exact_real} {op} {right.sql}"
            rounded = f"{left.sql} {op} {as_double}"
        return f"(CASE WHEN {as_double} = {real.sql} THEN {exact} ELSE {rounded} END)"

    def in_list(self, operand: Operand, values: Sequence[Operand], negate: bool) -> str:
        """IN by Decimal key or UTC clock; mixed number types one exact comparison each."""
        types = {operand.type, *(v.type for v in values)} - {None}
        if len(types) > 1 and types <= {int, float, Decimal}:
            tests = [self.comparison("<>" if negate else "=", operand, v) for v in values]
            return "(" + (" AND " if negate else " OR ").join(tests) + ")"
        word = "NOT IN" if negate else "IN"
        if operand.type is Decimal:
            inner = ", ".join(self._decimal_key(v) for v in values)
            return f"{self._decimal_key(operand)} {word} ({inner})"
        if operand.type is dt.datetime:
            inner = ", ".join(self._instant(v) for v in values)
            return f"{self._instant(operand)} {word} ({inner})"
        if operand.type is list or operand.type is dict:
            inner = ", ".join(self._document(v) for v in values)
            return f"{self._document(operand)} {word} ({inner})"
        return super().in_list(operand, values, negate)

    def float_type(self) -> str:
        """DuckDB's double."""
        return "DOUBLE"

    def _as_float(self, operand: Operand) -> str:
        if operand.type is Decimal:
            return f"CAST({_field(operand, 'text')} AS DOUBLE)"
        return super()._as_float(operand)

    @staticmethod
    def _as_text(operand: Operand) -> str:
        if operand.type is Decimal:
            return _field(operand, "text")
        return f"CAST({operand.sql} AS VARCHAR)"

    def arithmetic(self, op: str, left: Operand, right: Operand, result_type: type) -> str:
        """Native for ints and floats, with Python's ``//`` and ``%``; Decimal results
        (and the float ``//``/``%``) computed by the registered Python functions."""
        if result_type is Decimal:
            return f"pytuck_decimal_arith('{op}', {self._as_text(left)}, {self._as_text(right)})"
        if result_type is float:
            a, b = self._as_float(left), self._as_float(right)
            if op == "truediv":
                return f"({a} / NULLIF({b}, 0))"
            if op in ("floordiv", "mod"):
                return f"pytuck_float_arith('{op}', {a}, {b})"
            symbol = {"add": "+", "sub": "-", "mul": "*"}[op]
            return f"({a} {symbol} {b})"
        a, b = self._as_bigint(left), self._as_bigint(right)
        if op in ("add", "sub", "mul"):
            symbol = {"add": "+", "sub": "-", "mul": "*"}[op]
            return f"({a} {symbol} {b})"
        divisor = f"NULLIF({b}, 0)"
        if op == "truediv":
            return f"(CAST({a} AS DOUBLE) / CAST({divisor} AS DOUBLE))"
        # SQL's % truncates: shift it to the divisor's sign; // is then exact.
        python_mod = f"((({a} % {divisor}) + {b}) % {divisor})"
        if op == "mod":
            return python_mod
        return f"(({a} - {python_mod}) // {divisor})"

    @staticmethod
    def _as_bigint(operand: Operand) -> str:
        # A bound int would be typed INTEGER (32 bits) from its value.
        return f"CAST({operand.sql} AS BIGINT)" if operand.is_literal else operand.sql

    def aggregate(self, name: str, arg: Operand | None, distinct: bool, result_type: type | None) -> str:
        """Decimal sum/avg exact in Python; avg of ints as float(sum) / count like
        the memory engine; DISTINCT Decimals by value."""
        if arg is None:
            return "COUNT(*)"
        if arg.type is Decimal:
            if name == "sum":
                return f"pytuck_decimal_sum(LIST({_field(arg, 'text')}))"
            if name == "avg":
                return f"pytuck_decimal_avg(LIST({_field(arg, 'text')}))"
            if name == "count" and distinct:
                return f"COUNT(DISTINCT {_field(arg, 'key')})"
        if name == "avg":
            if arg.type is float:
                return f"AVG({arg.sql})"
            return f"(CAST(SUM({arg.sql}) AS DOUBLE) / COUNT({arg.sql}))"
        return f"{name.upper()}({'DISTINCT ' if distinct else ''}{arg.sql})"

    def order_term(self, operand: Operand, descending: bool, nulls_first: bool) -> str:
        """Decimals by key; the rest natively (datetime structs order by UTC clock first).

        A bound value orders nothing, and DuckDB refuses a bare parameter in
        ORDER BY: it becomes a constant."""
        if operand.is_literal:
            operand = operand._replace(sql=self.boolean_constant(True))
        elif operand.type is Decimal:
            operand = operand._replace(sql=_field(operand, "key"))
        return super().order_term(operand, descending, nulls_first)

    def group_term(self, operand: Operand) -> str:
        """Decimals group by value (1.5 with 1.50), as Python's ``==`` does."""
        if operand.type is Decimal:
            return _field(operand, "key")
        return operand.sql

    def distinct_item(self, operand: Operand) -> str:
        """DISTINCT Decimals by value: the key, read back as the (normalized) Decimal."""
        return self.group_term(operand)

    # --- keys and bulk load ---
    def reserve_keys(self, connection: Connection, table: TableSchema, count: int) -> int:
        """The first of ``count`` keys from the database's counter for ``table``."""
        return _duckdb(connection).database.keys.reserve(_duckdb(connection), self, table, count)

    def keys_inserted(self, connection: Connection, table: TableSchema, highest: int) -> None:
        """Move the counter past ``highest`` (an explicit key)."""
        _duckdb(connection).database.keys.seen(_duckdb(connection), self, table, highest)

    def bulk_insert(self, connection: Connection, table: TableSchema, rows: Sequence[Sequence[Any]]) -> int:
        """Few rows: one multi-row VALUES; more: an Arrow table and INSERT ... SELECT."""
        target = _duckdb(connection)
        if pa is None or len(rows) <= _VALUES_ROWS:
            width = len(table.columns)
            row_marks = "(" + ", ".join("?" * width) + ")"
            start = 0
            while start < len(rows):
                chunk = rows[start : start + 256]
                sql = f"INSERT INTO {self.quote(table.name)} VALUES " + ", ".join([row_marks] * len(chunk))
                target.write(sql, [value for row in chunk for value in row], table)
                start += len(chunk)
            return len(rows)
        arrays = []
        for index, column in enumerate(table.columns):
            values = [row[index] for row in rows]
            if column.type is uuid.UUID:
                values = [_uuid_text(v) for v in values]
            arrays.append(pa.array(values, _arrow_type(column.type)))
        relation = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
        sql = f"INSERT INTO {self.quote(table.name)} SELECT * FROM {_RELATION}"
        target.insert_relation(sql, relation, table)
        return len(rows)

    # --- errors ---
    def classify_error(self, error: BaseException) -> DriverError:
        """Map duckdb exceptions by class and message."""
        message = str(error)
        if isinstance(error, duckdb.ConstraintException):
            found = _DUPLICATE.search(message)
            if found:
                column, _, value = found.group(1).partition(": ")
                return DriverError(ErrorKind.UNIQUE, column=_indexed_column(column), value=value)
            found = _COMMIT_DUPLICATE.search(message)
            if found:  # two rows of one statement share a value: no column named
                return DriverError(ErrorKind.UNIQUE, value=found.group(1))
            if "NOT NULL constraint failed:" in message:
                column = message.split("NOT NULL constraint failed:", 1)[1].strip()
                return DriverError(ErrorKind.NOT_NULL, column=column)
            return DriverError(ErrorKind.OTHER)
        if isinstance(error, duckdb.TransactionException):
            found = _COMMIT_DUPLICATE.search(message)
            if found:
                return DriverError(ErrorKind.UNIQUE, value=found.group(1))
            if "conflict" in message.lower() or "aborted" in message:
                return DriverError(ErrorKind.CONFLICT)
            return DriverError(ErrorKind.OTHER)
        if "read-only" in message or "read only" in message:
            return DriverError(ErrorKind.READ_ONLY)
        if isinstance(error, duckdb.IOException):
            if "not a valid DuckDB database" in message or "Corrupt" in message:
                return DriverError(ErrorKind.CORRUPT)
            return DriverError(ErrorKind.CONNECTION)
        if isinstance(error, duckdb.ConnectionException):
            return DriverError(ErrorKind.CONNECTION)
        if isinstance(
            error,
            (
                duckdb.ParserException,
                duckdb.BinderException,
                duckdb.CatalogException,
                duckdb.ConversionException,
                duckdb.OutOfRangeException,
                duckdb.InvalidInputException,
                duckdb.NotImplementedException,
                duckdb.TypeMismatchException,
                duckdb.InvalidTypeException,
                duckdb.ProgrammingError,
            ),
        ):
            return DriverError(ErrorKind.QUERY)
        return DriverError(ErrorKind.OTHER)


_RELATION = "_pytuck_rows"
_DUPLICATE = re.compile(r'Duplicate key "(.*)" violates (?:primary key|unique) constraint', re.S)
_COMMIT_DUPLICATE = re.compile(r'constraint violation: duplicate key "(.*)"', re.S)
_STRUCT_INDEX = re.compile(r"""^struct_extract\((?:"((?:[^"]|"")*)"|([^,]*)), '[a-z]+'\)$""")


def _indexed_column(printed: str) -> str:
    """The column a duplicate-key message names (an index on a struct field names the field)."""
    found = _STRUCT_INDEX.match(printed)
    if found is None:
        return printed
    quoted, plain = found.groups()
    return quoted.replace('""', '"') if quoted is not None else plain


def _duckdb(connection: Connection) -> DuckdbConnection:
    if not isinstance(connection, DuckdbConnection):
        raise TypeError(f"the duckdb dialect needs a DuckdbConnection, got {type(connection).__name__}")
    return connection


# --- the shared database: keys and the ledger of changed rows ----------------------------


class _Keys:
    """Per table, the next integer key to assign (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next: dict[str, int] = {}

    def _load(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema) -> int:
        key = dialect.quote(table.primary_key)
        rows = connection.fetch(
            f"SELECT greatest(coalesce((SELECT max({key}) FROM {dialect.quote(table.name)}), 0), "
            f"coalesce((SELECT max(high) FROM {dialect.quote(_KEYS_TABLE)} WHERE name = ?), 0))",
            (table.name,),
        )
        return int(rows[0][0]) + 1

    def reserve(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema, count: int) -> int:
        """Hand out ``count`` keys; return the first."""
        with self.lock:
            first = self.next.get(table.name)
            if first is None:
                first = self._load(connection, dialect, table)
            self.next[table.name] = first + count
            return first

    def seen(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema, highest: int) -> None:
        """Never hand out ``highest`` or anything below it."""
        with self.lock:
            following = self.next.get(table.name)
            if following is None:
                following = self._load(connection, dialect, table)
            self.next[table.name] = max(following, highest + 1)

    def high(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema) -> int:
        """The highest key handed out or seen so far."""
        with self.lock:
            following = self.next.get(table.name)
            if following is None:
                following = self.next[table.name] = self._load(connection, dialect, table)
            return following - 1

    def forget(self, table: str) -> None:
        """The table was dropped: a table of that name starts afresh."""
        with self.lock:
            self.next.pop(table, None)


class _Ledger:
    """Which rows each commit changed, for first-committer-wins (module docstring).

    Sequence numbers count commits that wrote. A transaction remembers the
    sequence it began at; a row whose recorded sequence is higher was changed
    by a commit it could not see. Rows are only recorded while another
    transaction is open (nobody else could conflict), and forgotten once no
    open transaction began before them.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sequence = 0
        self.versions: dict[tuple[str, Any], int] = {}
        self.open: Counter[int] = Counter()

    def begin(self) -> int:
        """Register a transaction; return its start sequence."""
        with self.lock:
            start = self.sequence
            self.open[start] += 1
            return start

    def end(self, start: int) -> None:
        """A transaction that began at ``start`` ended."""
        with self.lock:
            self._end(start)

    def _end(self, start: int) -> None:
        self.open[start] -= 1
        if self.open[start] <= 0:
            del self.open[start]
        if not self.open:
            self.versions.clear()

    def changed_since(self, start: int, table: str, key: Any) -> bool:
        """True when a commit after ``start`` changed row ``key`` of ``table``."""
        return self.versions.get((table, key), 0) > start

    def committed(self, start: int, written: dict[str, set[Any]]) -> None:
        """Record a commit's changed rows and end its transaction (caller holds the lock)."""
        self._end(start)
        if not any(written.values()):
            return
        self.sequence += 1
        if not self.open:
            return
        sequence = self.sequence
        for table, keys in written.items():
            for key in keys:
                self.versions[(table, key)] = sequence
        if len(self.versions) > _LEDGER_PRUNE:
            oldest = min(self.open)
            self.versions = {k: v for k, v in self.versions.items() if v > oldest}


_LEDGER_PRUNE = 10_000


class _Database:
    """One duckdb database instance, shared by every engine on its file in this process."""

    def __init__(self, path: str, raw: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.raw = raw
        self.read_only = read_only
        self.users = 0
        self.keys = _Keys()
        self.ledger = _Ledger()
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to this database."""
        with self._lock:
            return self.raw.cursor()


_DATABASES: dict[str, _Database] = {}
_DATABASES_LOCK = threading.Lock()


def _open_database(path: str, read_only: bool, config: dict[str, Any]) -> _Database:
    """The shared instance of ``path``, opened on first use.

    Raises:
        CorruptDatabaseError: the file is not a DuckDB database.
        DatabaseConnectionError: the file cannot be opened (folder, lock, permissions).
        ConfigurationError: the file is open read-only in this process and a
            writable storage was asked for.
    """
    key = os.path.realpath(path)
    with _DATABASES_LOCK:
        database = _DATABASES.get(key)
        if database is None:
            try:
                raw = duckdb.connect(path, read_only=read_only, config=config)
            except duckdb.Error as exc:
                raise _open_error(path, exc) from exc
            try:
                _register_functions(raw)
            except BaseException:
                raw.close()
                raise
            database = _DATABASES[key] = _Database(key, raw, read_only)
        elif database.read_only and not read_only:
            raise ConfigurationError(
                f"{path} is already open read-only in this process; close that storage "
                "before opening it writable"
            )
        database.users += 1
        return database


def _close_database(database: _Database) -> None:
    with _DATABASES_LOCK:
        database.users -= 1
        if database.users > 0:
            return
        _DATABASES.pop(database.path, None)
    database.raw.close()


def _open_error(path: str, error: duckdb.Error) -> PytuckError:
    message = str(error)
    if "not a valid DuckDB database" in message:
        return CorruptDatabaseError(
            f"{path} cannot be opened as a duckdb database: {message}. The file was left "
            "untouched; restore it from a backup or open another file",
            details={"path": path},
        )
    hint = ""
    if "lock" in message.lower():
        hint = " (another process has it open: DuckDB allows one process per database file)"
    return DatabaseConnectionError(
        f"cannot open the duckdb database at {path}{hint}: {message}",
        details={"location": path},
    )


# --- connections ----------------------------------------------------------------------------


class _Write:
    """One write a transaction ran, kept to replay it (savepoints, recovery)."""

    __slots__ = ("sql", "params", "many", "relation", "table")

    def __init__(
        self,
        sql: str,
        params: Any,
        many: bool = False,
        relation: Any = None,
        table: TableSchema | None = None,
    ) -> None:
        self.sql = sql
        self.params = params
        self.many = many
        self.relation = relation
        self.table = table  # set for inserts: the rows' table

    def rows(self) -> list[Sequence[Any]]:
        """The driver rows an insert wrote (every column, in table order)."""
        if self.table is None:
            return []
        if self.relation is not None:
            return [tuple(row.values()) for row in self.relation.to_pylist()]
        if self.many:
            return [tuple(row) for row in self.params]
        width = len(self.table.columns)
        flat = list(self.params)
        return [tuple(flat[i : i + width]) for i in range(0, len(flat), width)]

    def replay(self, raw: duckdb.DuckDBPyConnection) -> None:
        """Run the write again."""
        if self.relation is not None:
            _insert_relation(raw, self.sql, self.relation)
        elif self.many:
            raw.executemany(self.sql, self.params)
        else:
            raw.execute(self.sql, self.params).fetchall()


def _insert_relation(raw: duckdb.DuckDBPyConnection, sql: str, relation: Any) -> None:
    raw.register(_RELATION, relation)
    try:
        raw.execute(sql).fetchall()
    finally:
        raw.unregister(_RELATION)


def _changed(rows: list[tuple[Any, ...]]) -> int:
    # A DuckDB write returns one row holding the count of rows it changed.
    return int(rows[0][0]) if rows and len(rows[0]) == 1 else -1


class DuckdbConnection(Connection):
    """One duckdb connection (``cursor()`` of the database) for one transaction at a time.

    It logs the writes of the open transaction. DuckDB aborts a transaction on
    any error, so after a failed statement the connection rolls back, begins
    again and replays the log: the transaction is as it was before the
    statement. :meth:`mark` and :meth:`restore` give savepoints the same way.
    """

    def __init__(self, database: _Database) -> None:
        self.database = database
        self.raw = database.cursor()
        self.log: list[_Write] = []
        self.active = False
        self.broken: str | None = None

    # --- statements ---
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; every row."""
        self._usable()
        try:
            return self.raw.execute(sql, params).fetchall()
        except duckdb.Error:
            self._recover()
            raise

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write; the rows it changed."""
        return _changed(self.write(sql, params))

    def write(
        self, sql: str, params: Sequence[Any] = (), table: TableSchema | None = None
    ) -> list[tuple[Any, ...]]:
        """Run a write (maybe with RETURNING) and log it; every row it returns.

        ``table`` names the table of an INSERT of whole rows (to name a
        duplicate should the commit be refused).
        """
        self._usable()
        try:
            rows = self.raw.execute(sql, params).fetchall()
        except duckdb.Error:
            self._recover()
            raise
        if self.active:
            self.log.append(_Write(sql, params, table=table))
        return rows

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """``executemany`` (slow in DuckDB: the engine's own writes avoid it)."""
        self._usable()
        try:
            self.raw.executemany(sql, rows)
        except duckdb.Error:
            self._recover()
            raise
        if self.active:
            self.log.append(_Write(sql, rows, many=True))
        return -1

    def insert_relation(self, sql: str, relation: Any, table: TableSchema) -> None:
        """Run ``sql`` (an INSERT ... SELECT from ``_pytuck_rows``) over an Arrow table."""
        self._usable()
        try:
            _insert_relation(self.raw, sql, relation)
        except duckdb.Error:
            self._recover()
            raise
        if self.active:
            self.log.append(_Write(sql, None, relation=relation, table=table))

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Raw SQL: column names and rows (a write without RETURNING gives none)."""
        self._usable()
        cursor = self.raw.execute(sql, params)
        if cursor.description is None:
            return [], []
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description]
        if names == ["Count"] and _counts_only(sql):
            return [], []
        return names, rows

    # --- transactions ---
    def begin(self) -> None:
        """BEGIN TRANSACTION (snapshot isolation)."""
        self.raw.execute("BEGIN TRANSACTION")
        self.active = True
        self.log = []
        self.broken = None

    def commit(self) -> None:
        """COMMIT. If DuckDB refuses it, the transaction is over (its log stays for
        naming the duplicate until :meth:`rollback`)."""
        self._usable()
        try:
            self.raw.execute("COMMIT")
        finally:
            self.active = False
        self.log = []

    def rollback(self) -> None:
        """ROLLBACK the open transaction (nothing to do after a refused commit)."""
        if self.active:
            try:
                self.raw.execute("ROLLBACK")
            finally:
                self.active = False
        self.log = []
        self.broken = None

    def close(self) -> None:
        """Close the duckdb connection."""
        self.raw.close()

    # --- savepoints and recovery ---
    def mark(self) -> int:
        """A savepoint: the number of writes so far."""
        return len(self.log)

    def restore(self, position: int) -> None:
        """Undo every write after ``position``: roll back, begin, replay the rest.

        Raises:
            ConflictError: the earlier writes no longer apply (another
                transaction committed over them meanwhile); roll back and retry.
        """
        self._usable()
        kept = self.log[:position]
        try:
            self.raw.execute("ROLLBACK")
            self.raw.execute("BEGIN TRANSACTION")
            for entry in kept:
                entry.replay(self.raw)
        except duckdb.Error as exc:
            self.broken = (
                "the duckdb transaction could not be restored after an error or a savepoint "
                f"rollback ({exc}); another transaction committed over its writes. Roll back "
                "and retry"
            )
            try:
                self.raw.execute("ROLLBACK")
            except duckdb.Error:
                pass
            self.active = False
            raise ConflictError(self.broken) from exc
        self.log = kept

    def _recover(self) -> None:
        # DuckDB aborted the whole transaction: bring back all but the failed statement.
        if self.active and self.broken is None:
            try:
                self.restore(len(self.log))
            except ConflictError:
                pass  # the original error is reported; later use raises ConflictError

    def _usable(self) -> None:
        if self.broken is not None:
            raise ConflictError(self.broken)


def _counts_only(sql: str) -> bool:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return False
    kinds = (duckdb.StatementType.INSERT, duckdb.StatementType.UPDATE, duckdb.StatementType.DELETE)
    return bool(statements) and statements[-1].type in kinds and "RETURNING" not in sql.upper()


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


register_engine("duckdb", DuckdbEngine)
