"""Column operators in WHERE: comparisons, NULL tests, membership, ranges and
boolean trees, with SQL's three-valued logic (DESIGN.md, NULL is SQL NULL).

Most rules are checked on an indexed column (``age``, sorted index) and on a
plain one (``score``) so that index-answered and scanned conditions agree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytuck import Session, and_, not_, or_, select

# The ``people`` fixture, by name: (age, score).
AGES = {"Ann": 31, "Bob": 70, "cy": None, "Dée": 18, "Eve": 65, "Ñu": 31}
SCORES = {"Ann": 9.5, "Bob": 7.0, "cy": None, "Dée": 5.25, "Eve": None, "Ñu": 8.0}
EVERYONE = sorted(AGES)


def names(storage: Any, User: Any, *conditions: Any) -> list[str]:  # noqa: N803
    """Names of the users matching every condition, sorted."""
    with Session(storage) as session:
        return sorted(user.name for user in session.query(User).filter(*conditions))


# --- comparisons --------------------------------------------------------------


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda c: c == 31, ["Ann", "Ñu"]),
        (lambda c: c != 31, ["Bob", "Dée", "Eve"]),
        (lambda c: c < 31, ["Dée"]),
        (lambda c: c <= 31, ["Ann", "Dée", "Ñu"]),
        (lambda c: c > 31, ["Bob", "Eve"]),
        (lambda c: c >= 65, ["Bob", "Eve"]),
    ],
    ids=["eq", "ne", "lt", "le", "gt", "ge"],
)
def test_comparison_operators_on_int_column(
    storage: Any, User: Any, people: Any, build: Callable[[Any], Any], expected: list[str]  # noqa: N803
) -> None:
    assert names(storage, User, build(User.age)) == expected


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda c: c == 8.0, ["Ñu"]),
        (lambda c: c != 8.0, ["Ann", "Bob", "Dée"]),
        (lambda c: c < 8, ["Bob", "Dée"]),
        (lambda c: c <= 8, ["Bob", "Dée", "Ñu"]),
        (lambda c: c > 7, ["Ann", "Ñu"]),
        (lambda c: c >= 7, ["Ann", "Bob", "Ñu"]),
    ],
    ids=["eq", "ne", "lt", "le", "gt", "ge"],
)
def test_comparison_operators_on_float_column(
    storage: Any, User: Any, people: Any, build: Callable[[Any], Any], expected: list[str]  # noqa: N803
) -> None:
    assert names(storage, User, build(User.score)) == expected


def test_comparison_with_value_on_the_left_is_reflected(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, 65 <= User.age) == ["Bob", "Eve"]
    assert names(storage, User, 31 == User.age) == ["Ann", "Ñu"]


def test_int_column_compares_with_a_float_without_truncating_it(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, User.age > 30.5) == ["Ann", "Bob", "Eve", "Ñu"]
    assert names(storage, User, User.age == 31.5) == []


def test_int_column_compares_with_a_numeric_string_converted(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, User.age == "31") == ["Ann", "Ñu"]


def test_two_columns_compare_and_null_on_either_side_excludes_the_row(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    # Eve has no score, cy has neither: both comparisons are unknown.
    assert names(storage, User, User.age > User.score) == ["Ann", "Bob", "Dée", "Ñu"]
    assert names(storage, User, not_(User.age > User.score)) == []


def test_bool_column_equality(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, User.active == True) == ["Ann", "Dée", "cy", "Ñu"]  # noqa: E712
    assert names(storage, User, User.active == False) == ["Bob", "Eve"]  # noqa: E712
    assert names(storage, User, User.active != True) == ["Bob", "Eve"]  # noqa: E712


def test_list_column_equality_compares_whole_documents(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, User.tags == ["a"]) == ["Ann", "Eve"]
    assert names(storage, User, User.tags == []) == ["Bob"]
    assert names(storage, User, User.tags == ["c", "b"]) == []


def test_string_equality_is_case_sensitive(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, User.name == "ann") == []
    assert names(storage, User, User.name == "Ann") == ["Ann"]
    assert names(storage, User, User.city == "oslo") == []


# --- NULL ---------------------------------------------------------------------


@pytest.mark.parametrize("column", ["age", "score"])
def test_equals_none_means_is_null(storage: Any, User: Any, people: Any, column: str) -> None:  # noqa: N803
    col = getattr(User, column)
    expected = sorted(n for n, v in {"age": AGES, "score": SCORES}[column].items() if v is None)
    assert names(storage, User, col == None) == expected  # noqa: E711
    assert names(storage, User, col.is_(None)) == expected


@pytest.mark.parametrize("column", ["age", "score"])
def test_not_equals_none_means_is_not_null(
    storage: Any, User: Any, people: Any, column: str  # noqa: N803
) -> None:
    col = getattr(User, column)
    expected = sorted(n for n, v in {"age": AGES, "score": SCORES}[column].items() if v is not None)
    assert names(storage, User, col != None) == expected  # noqa: E711
    assert names(storage, User, col.is_not(None)) == expected


def test_not_of_is_null_is_is_not_null(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, not_(User.age == None)) == ["Ann", "Bob", "Dée", "Eve", "Ñu"]  # noqa: E711
    assert names(storage, User, not_(User.age.is_not(None))) == ["cy"]


@pytest.mark.parametrize("column", ["age", "score"])
def test_comparison_with_null_value_excludes_the_row_both_ways(
    storage: Any, User: Any, people: Any, column: str  # noqa: N803
) -> None:
    col = getattr(User, column)
    values = {"age": AGES, "score": SCORES}[column]
    above = names(storage, User, col > 5)
    not_above = names(storage, User, not_(col > 5))
    nulls = sorted(n for n, v in values.items() if v is None)
    assert not set(nulls) & set(above)
    assert not set(nulls) & set(not_above)
    assert sorted(above + not_above + nulls) == EVERYONE


def test_not_equal_excludes_null_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert "cy" not in names(storage, User, User.age != 31)
    assert "cy" not in names(storage, User, User.city != "Oslo")


def test_double_negation_still_excludes_null(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, not_(not_(User.age > 40))) == ["Bob", "Eve"]


def test_and_with_unknown_is_false_under_not_only_when_another_part_is_false(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    # Eve: age > 60 true, score > 8 unknown -> AND unknown -> NOT unknown: excluded.
    condition = and_(User.age > 60, User.score > 8)
    assert names(storage, User, condition) == []
    assert names(storage, User, not_(condition)) == ["Ann", "Bob", "Dée", "Ñu"]


def test_or_with_unknown_is_true_when_another_part_is_true(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    # Eve: age > 60 true OR score > 8 unknown -> true; cy: unknown OR unknown.
    condition = or_(User.age > 60, User.score > 8)
    assert names(storage, User, condition) == ["Ann", "Bob", "Eve"]
    assert names(storage, User, not_(condition)) == ["Dée", "Ñu"]


# --- membership and ranges ------------------------------------------------------


@pytest.mark.parametrize("column", ["age", "score", "name", "city"])
def test_in_empty_list_matches_no_row(storage: Any, User: Any, people: Any, column: str) -> None:  # noqa: N803
    assert names(storage, User, getattr(User, column).in_([])) == []


@pytest.mark.parametrize("column", ["age", "score", "city"])
def test_not_in_empty_list_matches_every_row_null_included(
    storage: Any, User: Any, people: Any, column: str  # noqa: N803
) -> None:
    assert names(storage, User, getattr(User, column).not_in([])) == EVERYONE


@pytest.mark.parametrize("column", ["age", "score", "city"])
def test_not_of_in_empty_list_matches_every_row_null_included(
    storage: Any, User: Any, people: Any, column: str  # noqa: N803
) -> None:
    assert names(storage, User, not_(getattr(User, column).in_([]))) == EVERYONE


def test_in_matches_listed_values(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, User.age.in_([18, 70, 99])) == ["Bob", "Dée"]
    assert names(storage, User, User.name.in_(["Eve", "eve", "Ann"])) == ["Ann", "Eve"]
    assert names(storage, User, User.score.in_([7, 8.0])) == ["Bob", "Ñu"]


def test_in_accepts_any_iterable(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, User.age.in_(a for a in (18, 70))) == ["Bob", "Dée"]
    assert names(storage, User, User.age.in_({65})) == ["Eve"]


def test_not_in_excludes_listed_values_and_null_rows(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, User.age.not_in([31, 70])) == ["Dée", "Eve"]


def test_in_with_a_null_member_never_matches_null(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, User.age.in_([31, None])) == ["Ann", "Ñu"]


def test_not_in_with_a_null_member_matches_no_row(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    # SQL: x NOT IN (31, NULL) is false or unknown for every x.
    assert names(storage, User, User.age.not_in([31, None])) == []


def test_in_on_a_document_column_compares_documents(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    # tags: Ann ["a"], Bob [], cy NULL, Dée ["b", "c"], Eve ["a"], Ñu NULL.
    assert names(storage, User, User.tags.in_([["a"], []])) == ["Ann", "Bob", "Eve"]
    assert names(storage, User, User.tags.in_([None])) == []
    assert names(storage, User, not_(User.tags.in_([None]))) == []
    assert names(storage, User, User.tags.not_in([["a"]])) == ["Bob", "Dée"]


def test_between_includes_both_ends_and_excludes_null(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, User.age.between(31, 65)) == ["Ann", "Eve", "Ñu"]
    assert names(storage, User, User.score.between(7, 8)) == ["Bob", "Ñu"]


def test_not_between_excludes_null(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, not_(User.age.between(31, 65))) == ["Bob", "Dée"]


def test_between_with_low_above_high_matches_nothing(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, User.age.between(65, 31)) == []


# --- boolean trees ------------------------------------------------------------


def test_where_with_several_conditions_ands_them(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, User.age > 20, User.city == "Bergen") == ["Bob", "Ñu"]


def test_repeated_filter_calls_and_together(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).filter(User.age > 20).filter(User.active == True).all()  # noqa: E712
    assert sorted(u.name for u in found) == ["Ann", "Ñu"]


def test_or_of_indexed_and_unindexed_conditions(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert names(storage, User, or_(User.name == "Bob", User.city == "Oslo")) == ["Ann", "Bob", "Dée"]
    assert names(storage, User, or_(User.age == 18, User.score > 9)) == ["Ann", "Dée"]


def test_and_inside_or_inside_not(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    condition = not_(or_(and_(User.city == "Oslo", User.age < 20), User.age >= 65))
    # Dée (Oslo, 18), Bob and Eve (>= 65) match the OR; cy's OR is unknown.
    assert names(storage, User, condition) == ["Ann", "Ñu"]


def test_single_argument_and_or_return_the_condition(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    assert names(storage, User, and_(User.age == 18)) == ["Dée"]
    assert names(storage, User, or_(User.age == 18)) == ["Dée"]


def test_deeply_nested_tree(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    # 60 levels: ((((age == 18) OR name == "Bob") AND age != 0) OR ...) alternating.
    leaves = [User.age == 18, User.name == "Bob", User.age != 0, User.city == "Bergen"]
    condition: Any = leaves[0]
    for depth in range(1, 60):
        leaf = leaves[depth % len(leaves)]
        condition = or_(condition, leaf) if depth % 2 else and_(condition, leaf)
        if depth % 7 == 0:
            condition = not_(not_(condition))
    assert names(storage, User, condition) == ["Bob", "Dée", "Ñu"]


def test_wide_or_of_many_equalities(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    condition = reduce(lambda acc, n: or_(acc, User.name == n), ["x", "Eve", "y", "Ann"], User.age == -1)
    assert names(storage, User, condition) == ["Ann", "Eve"]


# --- a property: random boolean trees against a three-valued reference -----------

Truth = bool | None


def _leaves(User: Any) -> list[tuple[Any, Callable[[str], Truth]]]:  # noqa: N803
    def known(value: Any, test: Callable[[Any], bool]) -> Truth:
        return None if value is None else test(value)

    cities = {"Ann": "Oslo", "Bob": "Bergen", "cy": None, "Dée": "Oslo", "Eve": "Trondheim", "Ñu": "Bergen"}
    return [
        (User.age > 30, lambda n: known(AGES[n], lambda v: v > 30)),
        (User.age == 31, lambda n: known(AGES[n], lambda v: v == 31)),
        (User.age.in_([18, 65]), lambda n: known(AGES[n], lambda v: v in (18, 65))),
        (User.age.in_([]), lambda n: False),
        (User.age.between(20, 66), lambda n: known(AGES[n], lambda v: 20 <= v <= 66)),
        (User.age == None, lambda n: AGES[n] is None),  # noqa: E711
        (User.score >= 8, lambda n: known(SCORES[n], lambda v: v >= 8)),
        (User.score != 7, lambda n: known(SCORES[n], lambda v: v != 7)),
        (User.name == "Bob", lambda n: n == "Bob"),
        (User.name < "D", lambda n: n < "D"),
        (User.city == "Oslo", lambda n: known(cities[n], lambda v: v == "Oslo")),
        (User.city.like("%e%"), lambda n: known(cities[n], lambda v: "e" in v)),
        (User.city.is_not(None), lambda n: cities[n] is not None),
    ]


def _tree(leaf_count: int) -> st.SearchStrategy[Any]:
    leaf = st.integers(0, leaf_count - 1)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(st.just("not"), inner),
            st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=4)),
        ),
        max_leaves=12,
    )


def _build(tree: Any, leaves: list[tuple[Any, Callable[[str], Truth]]]) -> Any:
    if isinstance(tree, int):
        return leaves[tree][0]
    if tree[0] == "not":
        return not_(_build(tree[1], leaves))
    parts = [_build(t, leaves) for t in tree[1]]
    return and_(*parts) if tree[0] == "and" else or_(*parts)


def _truth(tree: Any, leaves: list[tuple[Any, Callable[[str], Truth]]], name: str) -> Truth:
    if isinstance(tree, int):
        return leaves[tree][1](name)
    if tree[0] == "not":
        inner = _truth(tree[1], leaves, name)
        return None if inner is None else not inner
    values = [_truth(t, leaves, name) for t in tree[1]]
    decisive = tree[0] == "or"  # True decides an OR, False decides an AND
    if decisive in values:
        return decisive
    if None in values:
        return None
    return not decisive


@settings(max_examples=30)
@given(data=st.data())
def test_random_boolean_trees_follow_three_valued_logic(
    storage: Any, User: Any, people: Any, data: st.DataObject  # noqa: N803
) -> None:
    leaves = _leaves(User)
    tree = data.draw(_tree(len(leaves)))
    expected = sorted(n for n in AGES if _truth(tree, leaves, n) is True)
    assert names(storage, User, _build(tree, leaves)) == expected


# --- the same conditions through select() and uncommitted rows --------------------


def test_select_where_uses_the_same_semantics(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(
            select(User.name).where(not_(User.age > 40)).where(User.city.is_not(None))
        ).scalars().all()
    assert sorted(rows) == ["Ann", "Dée", "Ñu"]


def test_conditions_see_rows_added_in_the_open_transaction(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        session.add(User(name="Fay", age=None, city="Oslo"))
        session.add(User(name="Gus", age=40, city="Oslo"))
        found = session.query(User).filter(or_(User.age > 35, User.city == "Oslo")).all()
        not_found = session.query(User).filter(not_(User.age > 35)).all()
        assert sorted(u.name for u in found) == ["Ann", "Bob", "Dée", "Eve", "Fay", "Gus"]
        assert sorted(u.name for u in not_found) == ["Ann", "Dée", "Ñu"]
        nulls = session.query(User).filter(User.age == None).all()  # noqa: E711
        assert sorted(u.name for u in nulls) == ["Fay", "cy"]
