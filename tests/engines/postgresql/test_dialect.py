"""The PostgreSQL dialect's SQL for the contract rules it keeps (no server needed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pytuck.engines.sql.dialect import Operand
from pytuck.engines.sql.postgresql import PostgresqlDialect
from pytuck.schema import ColumnSchema, TableSchema

pytest.importorskip("asyncpg")

dialect = PostgresqlDialect()
MARK = "\x000\x00"


def column(name: str, tp: type) -> Operand:
    """A plain column reference of type ``tp``."""
    return Operand(f'"{name}"', tp, ColumnSchema(name, tp))


def test_bound_value_names_its_type() -> None:
    # SELECT $1 and $1 IS NULL give PostgreSQL nothing to infer the type from.
    assert dialect.bound_value(Operand(MARK, int, None, True)) == f"CAST({MARK} AS BIGINT)"
    assert dialect.bound_value(Operand(MARK, None, None, True)) == MARK
    # A Decimal keeps its exact text ("1E+3", which NUMERIC would print as 1000).
    assert dialect.bound_value(Operand(MARK, Decimal, None, True)) == f"CAST({MARK} AS TEXT)"


def test_decimal_columns_compare_as_numeric() -> None:
    sql = dialect.comparison("=", column("money", Decimal), Operand(MARK, Decimal, None, True))
    assert sql == f'CAST("money" AS NUMERIC) = CAST({MARK} AS NUMERIC)'


def test_mixed_number_types_compare_exactly() -> None:
    sql = dialect.comparison("<", column("whole", int), column("real", float))
    assert sql == 'CAST("whole" AS NUMERIC) < pytuck_exact_v1("real")'


def test_text_values_compare_by_code_point() -> None:
    sql = dialect.comparison("<", Operand(MARK, str, None, True), Operand(MARK, str, None, True))
    assert sql.endswith('COLLATE "C"')


def test_sum_of_ints_is_cast_back_to_bigint() -> None:
    assert dialect.aggregate("sum", column("n", int), False, int) == 'CAST(SUM("n") AS BIGINT)'


def test_grouping_decimals_groups_equal_values() -> None:
    assert dialect.group_term(column("money", Decimal)) == 'CAST("money" AS NUMERIC)'


def test_long_index_names_stay_within_the_identifier_limit() -> None:
    columns = (ColumnSchema("id", int, primary_key=True), ColumnSchema("c" * 40, str, index="hash"))
    table = TableSchema("t" * 50, columns)
    name = dialect.index_name(table, table.column("c" * 40))
    assert len(name.encode()) <= 63
