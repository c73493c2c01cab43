"""The reference evaluator checked by hand against DESIGN.md, so the oracle is trusted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pytuck import literal, not_, or_
from tests.property.query_strategies import open_table
from tests.property.reference import evaluate, like_matches, order_rows, run_query


@pytest.fixture(scope="module")
def item() -> Any:
    """The property tests' model (only its column references are used)."""
    return open_table()[1]


def _row(**values: Any) -> dict[str, Any]:
    return {"id": 1, "i_plain": None, "s_plain": None, "f": None, "d": None, "b": None, **values}


def test_comparison_with_null_and_its_negation_are_both_unknown(item: Any) -> None:
    row = _row(i_plain=None)
    assert evaluate(item.i_plain > 5, row) is None
    assert evaluate(not_(item.i_plain > 5), row) is None


def test_or_with_a_true_side_is_true_despite_null(item: Any) -> None:
    assert evaluate(or_(item.i_plain > 5, item.f == 1.0), _row(f=1.0)) is True


def test_empty_in_is_false_and_empty_not_in_true_for_null(item: Any) -> None:
    row = _row(i_plain=None)
    assert evaluate(item.i_plain.in_([]), row) is False
    assert evaluate(item.i_plain.not_in([]), row) is True


def test_not_in_a_list_holding_null_is_unknown_when_nothing_equals(item: Any) -> None:
    assert evaluate(item.i_plain.not_in([1, None]), _row(i_plain=2)) is None
    assert evaluate(item.i_plain.not_in([2, None]), _row(i_plain=2)) is False


def test_like_wildcards_and_escapes() -> None:
    assert like_matches("a%b", "a\\%b", fold_ascii=False)
    assert not like_matches("axb", "a\\%b", fold_ascii=False)
    assert like_matches("axyb", "a%b", fold_ascii=False)
    assert like_matches("a\nb", "a_b", fold_ascii=False)
    assert not like_matches("ab", "a_b", fold_ascii=False)


def test_like_is_case_sensitive_and_ilike_folds_ascii_only() -> None:
    assert not like_matches("Abc", "abc", fold_ascii=False)
    assert like_matches("Abc", "aBC", fold_ascii=True)
    assert not like_matches("É", "é", fold_ascii=True)
    assert not like_matches("\u212a", "k", fold_ascii=True)  # the Kelvin sign is not K


def test_startswith_escapes_wildcards(item: Any) -> None:
    assert evaluate(item.s_plain.startswith("a_"), _row(s_plain="a_z")) is True
    assert evaluate(item.s_plain.startswith("a_"), _row(s_plain="abz")) is False


def test_division_by_zero_is_null(item: Any) -> None:
    row = _row(i_plain=7)
    assert evaluate(item.i_plain / 0, row) is None
    assert evaluate(item.i_plain // 0, row) is None


def test_true_division_gives_float_and_floor_division_floors(item: Any) -> None:
    assert evaluate(item.i_plain / 2, _row(i_plain=7)) == 3.5
    assert evaluate(item.i_plain // 2, _row(i_plain=-7)) == -4
    assert evaluate(item.d // 2, _row(d=Decimal("-7"))) == Decimal("-4")


def test_float_operand_makes_decimal_arithmetic_float(item: Any) -> None:
    value = evaluate(item.d + literal(0.5), _row(d=Decimal("1.25")))
    assert value == 1.75 and isinstance(value, float)


def test_nulls_sort_last_ascending_and_first_descending(item: Any) -> None:
    rows = [_row(id=1, i_plain=None), _row(id=2, i_plain=2), _row(id=3, i_plain=1)]
    assert [r["id"] for r in order_rows(rows, [item.i_plain.asc()])] == [3, 2, 1]
    assert [r["id"] for r in order_rows(rows, [item.i_plain.desc()])] == [1, 2, 3]
    assert [r["id"] for r in order_rows(rows, [item.i_plain.desc().nulls_last()])] == [2, 3, 1]
    assert [r["id"] for r in order_rows(rows, [item.i_plain.nulls_first()])] == [1, 3, 2]


def test_strings_sort_by_code_point(item: Any) -> None:
    rows = [_row(id=1, s_plain="é"), _row(id=2, s_plain="z"), _row(id=3, s_plain="Z")]
    assert [r["id"] for r in order_rows(rows, [item.s_plain.asc()])] == [3, 2, 1]


def test_ordering_is_stable_across_keys(item: Any) -> None:
    rows = [
        _row(id=1, b=True, i_plain=1),
        _row(id=2, b=False, i_plain=1),
        _row(id=3, b=True, i_plain=0),
    ]
    ordered = order_rows(rows, [item.i_plain.desc(), item.b.asc()])
    assert [r["id"] for r in ordered] == [2, 1, 3]


def test_distinct_applies_before_offset_and_limit(item: Any) -> None:
    rows = [_row(id=k, i_plain=v) for k, v in enumerate([1, 1, 2, 2, 3], start=1)]
    ordering = [item.i_plain.asc()]
    found = run_query(
        rows, orderings=ordering, columns=[item.i_plain], distinct=True, offset=1, limit=1
    )
    assert found == [(2,)]
