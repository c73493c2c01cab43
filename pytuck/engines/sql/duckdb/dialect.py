"""DuckdbDialect: DuckDB's SQL for the shared compiler (types, expressions, errors)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import duckdb

from pytuck.engines.sql.connection import Connection
from pytuck.engines.sql.dialect import Adapter, Dialect, DriverError, ErrorKind, Operand
from pytuck.engines.sql.duckdb.connection import _KEYS_TABLE, _RELATION, DuckdbConnection
from pytuck.engines.sql.duckdb.values import (
    _ARROW,
    _DATETIME_SQL,
    _DECIMAL_SQL,
    _arrow_relation,
    _datetime_from_driver,
    _datetime_to_driver,
    _decimal_from_driver,
    _decimal_to_driver,
)
from pytuck.schema import ColumnSchema, TableSchema

__all__ = ["DuckdbDialect"]

#: Rows inserted with one multi-row VALUES statement; more go through Arrow
#: (measured: VALUES is faster up to ~30 rows, 0.5 ms for one row vs 1.3 ms).
_VALUES_ROWS = 24


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
        ORDER BY: it becomes a constant. (The compiler refers to an order term
        repeating a select item of a grouped or DISTINCT query by position;
        any other bound value, as in ``order_by(literal(0))``, arrives here.)"""
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
        if not _ARROW or len(rows) <= _VALUES_ROWS:
            width = len(table.columns)
            row_marks = "(" + ", ".join("?" * width) + ")"
            start = 0
            while start < len(rows):
                chunk = rows[start : start + 256]
                sql = f"INSERT INTO {self.quote(table.name)} VALUES " + ", ".join([row_marks] * len(chunk))
                target.write(sql, [value for row in chunk for value in row], table)
                start += len(chunk)
            return len(rows)
        relation = _arrow_relation(table, rows)
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
