"""Arithmetic and aggregates (DESIGN.md, Arithmetic and aggregates):
``/`` is true division, ``//`` floor division, division by zero is NULL;
``count()`` counts rows, ``count(col)`` values; sums of ints are ints, means are
floats, and aggregates of no rows are NULL; group_by/having.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pytuck import Column, QueryError, Session, func, select, update


@pytest.fixture
def Pair(Base: Any, storage: Any) -> Any:  # noqa: N802, N803
    """Pairs of numbers of each numeric type, signs mixed, zeros and NULLs included."""

    class Pair(Base):  # type: ignore[misc, valid-type]
        __tablename__ = "pairs"
        id = Column(int, primary_key=True)
        a = Column(int)
        b = Column(int)
        x = Column(float)
        d = Column(Decimal)
        e = Column(Decimal)

    rows = [
        dict(id=1, a=-7, b=2, x=-7.0, d=Decimal("-7"), e=Decimal("2")),
        dict(id=2, a=7, b=-2, x=7.5, d=Decimal("7.5"), e=Decimal("-2")),
        dict(id=3, a=7, b=2, x=0.5, d=Decimal("1.25"), e=Decimal("0.5")),
        dict(id=4, a=5, b=0, x=0.0, d=Decimal("5"), e=Decimal("0")),
        dict(id=5, a=None, b=3, x=None, d=None, e=Decimal("1")),
    ]
    with Session(storage) as session:
        session.add_all(Pair(**row) for row in rows)
        session.commit()
    return Pair


def by_id(storage: Any, Pair: Any, expression: Any) -> list[Any]:  # noqa: N803
    """The expression evaluated on each pair, in id order."""
    with Session(storage) as session:
        return session.execute(select(expression).order_by(Pair.id)).scalars().all()


def single(storage: Any, *columns: Any, where: Any = None) -> Any:
    """The one row of an aggregate select."""
    stmt = select(*columns)
    if where is not None:
        stmt = stmt.where(where)
    with Session(storage) as session:
        return session.execute(stmt).one()


# --- arithmetic -------------------------------------------------------------------


def test_addition_subtraction_multiplication_of_ints(storage: Any, Pair: Any) -> None:  # noqa: N803
    assert by_id(storage, Pair, Pair.a + Pair.b) == [-5, 5, 9, 5, None]
    assert by_id(storage, Pair, Pair.a - Pair.b) == [-9, 9, 5, 5, None]
    assert by_id(storage, Pair, Pair.a * Pair.b) == [-14, -14, 14, 0, None]


def test_arithmetic_of_ints_gives_ints(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.a * 3 + 1)
    assert values == [-20, 22, 22, 16, None]
    assert all(type(v) is int for v in values if v is not None)


def test_arithmetic_with_a_value_on_the_left(storage: Any, Pair: Any) -> None:  # noqa: N803
    assert by_id(storage, Pair, 10 - Pair.a) == [17, 3, 3, 5, None]
    assert by_id(storage, Pair, 2 * Pair.b) == [4, -4, 4, 0, 6]
    assert by_id(storage, Pair, 1 + Pair.b) == [3, -1, 3, 1, 4]


def test_negation(storage: Any, Pair: Any) -> None:  # noqa: N803
    assert by_id(storage, Pair, -Pair.a) == [7, -7, -7, -5, None]


def test_true_division_of_ints_gives_a_float(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.a / Pair.b)
    assert values == [-3.5, -3.5, 3.5, None, None]
    assert all(type(v) is float for v in values if v is not None)


def test_true_division_of_whole_results_is_still_a_float(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.b / 1)
    assert values == [2.0, -2.0, 2.0, 0.0, 3.0]
    assert all(type(v) is float for v in values)


def test_floor_division_rounds_toward_negative_infinity(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.a // Pair.b)
    assert values == [-4, -4, 3, None, None]
    assert all(type(v) is int for v in values if v is not None)


def test_floor_division_of_floats_floors(storage: Any, Pair: Any) -> None:  # noqa: N803
    assert by_id(storage, Pair, Pair.x // 2) == [-4.0, 3.0, 0.0, 0.0, None]


def test_floor_division_of_decimals_floors(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.d // Pair.e)
    assert values == [Decimal(-4), Decimal(-4), Decimal(2), None, None]
    assert all(type(v) is Decimal for v in values if v is not None)


def test_modulo_pairs_with_floor_division(storage: Any, Pair: Any) -> None:  # noqa: N803
    # a == b * (a // b) + a % b, with the sign of the divisor (as in Python).
    assert by_id(storage, Pair, Pair.a % Pair.b) == [1, -1, 1, None, None]
    assert by_id(storage, Pair, Pair.d % Pair.e) == [
        Decimal(1), Decimal("-0.5"), Decimal("0.25"), None, None,
    ]


def test_division_by_zero_gives_null(storage: Any, Pair: Any) -> None:  # noqa: N803
    assert by_id(storage, Pair, Pair.a / 0) == [None] * 5
    assert by_id(storage, Pair, Pair.a // 0) == [None] * 5
    assert by_id(storage, Pair, Pair.x / 0.0) == [None] * 5
    assert by_id(storage, Pair, Pair.d / Pair.e)[3] is None


def test_arithmetic_with_null_gives_null(storage: Any, Pair: Any) -> None:  # noqa: N803
    assert by_id(storage, Pair, Pair.a + 1)[4] is None
    assert by_id(storage, Pair, Pair.b * Pair.x)[4] is None


def test_int_and_float_mix_gives_a_float(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.a + Pair.x)
    assert values == [-14.0, 14.5, 7.5, 5.0, None]
    assert all(type(v) is float for v in values if v is not None)


def test_decimal_arithmetic_is_exact(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.d + Pair.e)
    assert values == [Decimal("-5"), Decimal("5.5"), Decimal("1.75"), Decimal("5"), None]
    assert all(type(v) is Decimal for v in values if v is not None)


def test_decimal_true_division_gives_a_float(storage: Any, Pair: Any) -> None:  # noqa: N803
    values = by_id(storage, Pair, Pair.d / Pair.e)
    assert values[:3] == [-3.5, -3.75, 2.5]
    assert all(type(v) is float for v in values[:3])


def test_arithmetic_in_where(storage: Any, Pair: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.execute(select(Pair.id).where(Pair.a + Pair.b > 5)).scalars().all()
        halves = session.execute(select(Pair.id).where(Pair.a / 2 == -3.5)).scalars().all()
    assert found == [3]
    assert halves == [1]


def test_update_storing_an_int_expression_in_a_decimal_column_gives_a_decimal(
    storage: Any, Pair: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        session.execute(update(Pair).values(d=Pair.a * 2))
        values = session.execute(select(Pair.d).order_by(Pair.id)).scalars().all()
    assert values == [Decimal(-14), Decimal(14), Decimal(14), Decimal(10), None]
    assert all(type(v) is Decimal for v in values if v is not None)


def test_labelled_arithmetic_is_read_by_name(storage: Any, Pair: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        row = session.execute(select((Pair.a * 2).label("twice")).where(Pair.id == 3)).one()
    assert row.twice == 14 and row["twice"] == 14


# --- aggregates ------------------------------------------------------------------


def test_count_counts_rows_and_count_of_column_counts_values(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    row = single(storage, func.count(), func.count(User.age), func.count(User.score))
    assert tuple(row) == (6, 5, 4)


def test_count_distinct_counts_distinct_values(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    row = single(storage, func.count(User.city, distinct=True), func.count(User.age, distinct=True))
    assert tuple(row) == (3, 4)


def test_sum_of_ints_is_an_int(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    total = single(storage, func.sum(User.age))[0]
    assert total == 215 and type(total) is int


def test_sum_of_floats_is_a_float(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    total = single(storage, func.sum(User.score))[0]
    assert total == 29.75 and type(total) is float


def test_sum_of_decimals_is_an_exact_decimal(storage: Any, Pair: Any) -> None:  # noqa: N803
    total = single(storage, func.sum(Pair.d))[0]
    assert total == Decimal("6.75") and type(total) is Decimal


def test_avg_is_a_float_even_for_whole_ints(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    mean = single(storage, func.avg(User.age), where=User.age == 31)[0]
    assert mean == 31.0 and type(mean) is float
    assert single(storage, func.avg(User.age))[0] == pytest.approx(43.0)


def test_avg_ignores_nulls(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert single(storage, func.avg(User.score))[0] == pytest.approx(29.75 / 4)


def test_min_and_max_ignore_nulls(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert tuple(single(storage, func.min(User.age), func.max(User.age))) == (18, 70)
    assert tuple(single(storage, func.min(User.score), func.max(User.score))) == (5.25, 9.5)


def test_aggregates_of_no_rows_are_null_and_count_is_zero(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    row = single(
        storage,
        func.count(), func.count(User.age), func.sum(User.age), func.avg(User.age),
        func.min(User.age), func.max(User.age),
        where=User.age > 1000,
    )
    assert tuple(row) == (0, 0, None, None, None, None)


def test_aggregates_of_only_nulls_are_null(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    row = single(storage, func.count(User.age), func.sum(User.age), func.max(User.age),
                 where=User.name == "cy")
    assert tuple(row) == (0, None, None)


def test_aggregates_of_an_empty_table(storage: Any, User: Any) -> None:  # noqa: N803
    assert tuple(single(storage, func.count(), func.sum(User.age))) == (0, None)


def test_aggregate_of_an_expression(storage: Any, Pair: Any) -> None:  # noqa: N803
    assert single(storage, func.sum(Pair.a * Pair.b))[0] == -14
    assert single(storage, func.max(Pair.a // Pair.b))[0] == 3


def test_expression_of_aggregates(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    assert single(storage, func.max(User.age) - func.min(User.age))[0] == 52


def test_group_by_with_count_and_sum(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(
            select(User.city, func.count(), func.sum(User.age)).group_by(User.city).order_by(User.city)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Bergen", 2, 101), ("Oslo", 2, 49), ("Trondheim", 1, 65), (None, 1, None),
    ]


def test_group_by_several_columns(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(
            select(User.active, User.age, func.count())
            .where(User.age != None)  # noqa: E711
            .group_by(User.active, User.age)
            .order_by(User.active, User.age)
        ).all()
    assert [tuple(r) for r in rows] == [(False, 65, 1), (False, 70, 1), (True, 18, 1), (True, 31, 2)]


def test_having_filters_groups(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        cities = session.execute(
            select(User.city).group_by(User.city).having(func.count() > 1).order_by(User.city)
        ).scalars().all()
    assert cities == ["Bergen", "Oslo"]


def test_having_on_an_aggregate_not_selected(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        cities = session.execute(
            select(User.city).group_by(User.city).having(func.max(User.age) >= 65).order_by(User.city)
        ).scalars().all()
    assert cities == ["Bergen", "Trondheim"]


def test_having_with_unknown_drops_the_group(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    # The NULL city's sum of ages is NULL: sum > 0 is unknown, so the group is dropped.
    with Session(storage) as session:
        cities = session.execute(
            select(User.city).group_by(User.city).having(func.sum(User.age) > 0)
        ).scalars().all()
    assert sorted(cities) == ["Bergen", "Oslo", "Trondheim"]


def test_where_applies_before_grouping(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(
            select(User.city, func.count()).where(User.age < 65).group_by(User.city).order_by(User.city)
        ).all()
    assert [tuple(r) for r in rows] == [("Bergen", 1), ("Oslo", 2)]


def test_order_groups_by_an_aggregate(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(
            select(User.city, func.avg(User.score).label("mean"))
            .group_by(User.city)
            .order_by(func.avg(User.score).desc().nulls_last(), User.city)
        ).all()
    assert [r.city for r in rows] == ["Bergen", "Oslo", "Trondheim", None]
    assert [r.mean for r in rows] == [7.5, 7.375, None, None]


def test_limit_and_offset_apply_to_groups(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        cities = session.execute(
            select(User.city).group_by(User.city).order_by(User.city).offset(1).limit(2)
        ).scalars().all()
    assert cities == ["Oslo", "Trondheim"]


def test_distinct_over_grouped_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        counts = session.execute(
            select(func.count()).group_by(User.city).distinct().order_by(func.count())
        ).scalars().all()
    assert counts == [1, 2]


def test_group_by_column_name_string(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(select(User.active, func.count()).group_by("active").order_by(User.active)).all()
    assert [tuple(r) for r in rows] == [(False, 2), (True, 4)]


def test_query_count_counts_matching_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.query(User).count() == 6
        assert session.query(User).filter(User.age > 30).count() == 4
        assert session.query(User).filter(User.age > 30).limit(2).count() == 2


def test_count_with_select_from(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.execute(select(func.count()).select_from(User)).scalar() == 6


def test_count_takes_its_table_from_where(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.execute(select(func.count()).where(User.age > 30)).scalar() == 4


def test_select_of_no_column_and_no_table_is_refused_when_run(
    storage: Any, User: Any  # noqa: N803
) -> None:
    with Session(storage) as session, pytest.raises(QueryError, match="select_from"):
        session.execute(select(func.count()))


def test_group_by_an_expression_with_a_value(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    # ages 31, 70, NULL, 18, 65, 31: age % 2 is 1, 0, NULL, 0, 1, 1.
    parity = User.age % 2
    with Session(storage) as session:
        rows = session.execute(
            select(parity, func.count()).group_by(parity).order_by(parity)
        ).all()
        shifted = session.execute(
            select(parity + 10, func.count()).group_by(parity).order_by(parity.desc())
        ).all()
        counts = session.execute(
            select(func.count()).group_by(parity).order_by(parity)
        ).scalars().all()
    assert [tuple(r) for r in rows] == [(0, 2), (1, 3), (None, 1)]
    assert [tuple(r) for r in shifted] == [(None, 1), (11, 3), (10, 2)]
    assert counts == [2, 3, 1]
