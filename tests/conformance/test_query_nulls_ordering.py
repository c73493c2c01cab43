"""ORDER BY: direction, NULL placement, several keys, code-point string order,
limit/offset and distinct (DESIGN.md, Ordering).

Orderings are checked on the sorted-indexed ``age`` and the plain ``score``,
with and without a limit, since an engine may answer ``order_by(...).limit()``
by walking an index.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, Session, select

AGES_ASC = [18, 31, 31, 65, 70]
SCORES_ASC = [5.25, 7.0, 8.0, 9.5]


def ordered(storage: Any, column: Any, *terms: Any, limit: int | None = None) -> list[Any]:
    """Values of ``column`` in the order ``terms`` give."""
    with Session(storage) as session:
        stmt = select(column).order_by(*terms).limit(limit)
        return session.execute(stmt).scalars().all()


def _values(column: str) -> list[Any]:
    return AGES_ASC if column == "age" else SCORES_ASC


def _null_count(column: str) -> int:
    return 1 if column == "age" else 2


@pytest.mark.parametrize("limit", [None, 3], ids=["all", "limit"])
@pytest.mark.parametrize("column", ["age", "score"])
def test_ascending_puts_nulls_last(
    storage: Any, User: Any, people: Any, column: str, limit: int | None  # noqa: N803
) -> None:
    col = getattr(User, column)
    expected = _values(column) + [None] * _null_count(column)
    assert ordered(storage, col, col, limit=limit) == expected[:limit]
    assert ordered(storage, col, col.asc(), limit=limit) == expected[:limit]


@pytest.mark.parametrize("limit", [None, 3], ids=["all", "limit"])
@pytest.mark.parametrize("column", ["age", "score"])
def test_descending_puts_nulls_first(
    storage: Any, User: Any, people: Any, column: str, limit: int | None  # noqa: N803
) -> None:
    col = getattr(User, column)
    expected = [None] * _null_count(column) + _values(column)[::-1]
    assert ordered(storage, col, col.desc(), limit=limit) == expected[:limit]


@pytest.mark.parametrize("limit", [None, 3], ids=["all", "limit"])
@pytest.mark.parametrize("column", ["age", "score"])
def test_nulls_first_on_ascending(
    storage: Any, User: Any, people: Any, column: str, limit: int | None  # noqa: N803
) -> None:
    col = getattr(User, column)
    expected = [None] * _null_count(column) + _values(column)
    assert ordered(storage, col, col.nulls_first(), limit=limit) == expected[:limit]
    assert ordered(storage, col, col.asc().nulls_first(), limit=limit) == expected[:limit]


@pytest.mark.parametrize("limit", [None, 3], ids=["all", "limit"])
@pytest.mark.parametrize("column", ["age", "score"])
def test_nulls_last_on_ascending(
    storage: Any, User: Any, people: Any, column: str, limit: int | None  # noqa: N803
) -> None:
    col = getattr(User, column)
    expected = _values(column) + [None] * _null_count(column)
    assert ordered(storage, col, col.nulls_last(), limit=limit) == expected[:limit]
    assert ordered(storage, col, col.asc().nulls_last(), limit=limit) == expected[:limit]


@pytest.mark.parametrize("limit", [None, 3], ids=["all", "limit"])
@pytest.mark.parametrize("column", ["age", "score"])
def test_nulls_last_on_descending(
    storage: Any, User: Any, people: Any, column: str, limit: int | None  # noqa: N803
) -> None:
    col = getattr(User, column)
    expected = _values(column)[::-1] + [None] * _null_count(column)
    assert ordered(storage, col, col.desc().nulls_last(), limit=limit) == expected[:limit]


@pytest.mark.parametrize("limit", [None, 3], ids=["all", "limit"])
@pytest.mark.parametrize("column", ["age", "score"])
def test_nulls_first_on_descending(
    storage: Any, User: Any, people: Any, column: str, limit: int | None  # noqa: N803
) -> None:
    col = getattr(User, column)
    expected = [None] * _null_count(column) + _values(column)[::-1]
    assert ordered(storage, col, col.desc().nulls_first(), limit=limit) == expected[:limit]


def test_offset_past_nulls_in_descending_order(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        stmt = select(User.age).order_by(User.age.desc()).offset(1).limit(2)
        assert session.execute(stmt).scalars().all() == [70, 65]


def test_order_by_several_keys(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).order_by(User.city, User.name.desc()).all()
    assert [u.name for u in found] == ["Ñu", "Bob", "Dée", "Ann", "Eve", "cy"]


def test_order_by_second_key_breaks_ties_of_the_first(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        asc = session.query(User).filter(User.age == 31).order_by(User.age, User.name).all()
        desc = session.query(User).filter(User.age == 31).order_by(User.age, User.name.desc()).all()
    assert [u.name for u in asc] == ["Ann", "Ñu"]
    assert [u.name for u in desc] == ["Ñu", "Ann"]


def test_repeated_order_by_calls_append_keys(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).order_by(User.age.desc()).order_by(User.name).all()
    assert [u.name for u in found] == ["cy", "Bob", "Eve", "Ann", "Ñu", "Dée"]


def test_order_by_none_clears_the_ordering(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        stmt = select(User.name).order_by(User.age).order_by(None).order_by(User.name.desc())
        assert session.execute(stmt).scalars().all() == ["Ñu", "cy", "Eve", "Dée", "Bob", "Ann"]


def test_order_by_column_name_with_desc_flag(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    # The Pytuck 1.x form: a column-name string and desc=True.
    with Session(storage) as session:
        found = session.query(User).order_by("age", desc=True).all()
    assert [u.age for u in found] == [None, 70, 65, 31, 31, 18]


def test_order_by_column_name_ascending(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        stmt = select(User).order_by("name")
        assert [u.name for u in session.execute(stmt).scalars()] == [
            "Ann", "Bob", "Dée", "Eve", "cy", "Ñu",
        ]


def test_order_by_a_computed_expression(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    distance = (User.age - 40) * (User.age - 40)
    with Session(storage) as session:
        stmt = select(User.name).where(User.age != None).order_by(distance, User.name)  # noqa: E711
        assert session.execute(stmt).scalars().all() == ["Ann", "Ñu", "Dée", "Eve", "Bob"]


def test_order_by_bool_puts_false_before_true(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        values = session.execute(select(User.active).order_by(User.active)).scalars().all()
    assert values == [False, False, True, True, True, True]


# --- code-point string order ---------------------------------------------------------


@pytest.fixture
def Word(Base: Any, storage: Any) -> Any:  # noqa: N802, N803
    """Words in a sorted-indexed and a plain text column."""

    class Word(Base):  # type: ignore[misc, valid-type]
        __tablename__ = "words"
        id = Column(int, primary_key=True)
        indexed = Column(str, index="sorted")
        plain = Column(str)

    with Session(storage) as session:
        for text in ["é", "a", "B", "b", "É", "A", "ab", "Z", "z", "aB", ""]:
            session.add(Word(indexed=text, plain=text))
        session.commit()
    return Word


CODE_POINT_ORDER = ["", "A", "B", "Z", "a", "aB", "ab", "b", "z", "É", "é"]


@pytest.mark.parametrize("limit", [None, 4], ids=["all", "limit"])
@pytest.mark.parametrize("column", ["indexed", "plain"])
def test_strings_sort_by_code_point(storage: Any, Word: Any, column: str, limit: int | None) -> None:  # noqa: N803
    col = getattr(Word, column)
    assert ordered(storage, col, col, limit=limit) == CODE_POINT_ORDER[:limit]
    assert ordered(storage, col, col.desc(), limit=limit) == CODE_POINT_ORDER[::-1][:limit]


@pytest.mark.parametrize("column", ["indexed", "plain"])
def test_uppercase_sorts_before_lowercase_and_ascii_before_accents(
    storage: Any, Word: Any, column: str  # noqa: N803
) -> None:
    col = getattr(Word, column)
    with Session(storage) as session:
        below_a = session.execute(select(col).where(col < "a").order_by(col)).scalars().all()
        above_z = session.execute(select(col).where(col > "z").order_by(col)).scalars().all()
    assert below_a == ["", "A", "B", "Z"]
    assert above_z == ["É", "é"]


@pytest.mark.parametrize("column", ["indexed", "plain"])
def test_string_range_follows_code_points(storage: Any, Word: Any, column: str) -> None:  # noqa: N803
    col = getattr(Word, column)
    with Session(storage) as session:
        stmt = select(col).where(col.between("B", "a")).order_by(col)
        assert session.execute(stmt).scalars().all() == ["B", "Z", "a"]


def test_min_and_max_of_strings_follow_code_points(storage: Any, Word: Any) -> None:  # noqa: N803
    from pytuck import func

    with Session(storage) as session:
        row = session.execute(select(func.min(Word.plain), func.max(Word.plain))).one()
    assert tuple(row) == ("", "é")


# --- limit, offset, distinct ---------------------------------------------------------


def test_limit_and_offset_slice_the_ordered_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).order_by(User.name).offset(1).limit(2).all()
    assert [u.name for u in found] == ["Bob", "Dée"]


def test_limit_zero_returns_nothing(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.query(User).order_by(User.age).limit(0).all() == []


def test_offset_without_limit_returns_the_rest(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).order_by(User.name).offset(4).all()
    assert [u.name for u in found] == ["cy", "Ñu"]


def test_offset_past_the_end_returns_nothing(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.query(User).order_by(User.name).offset(6).all() == []


def test_limit_none_removes_the_limit(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert len(session.query(User).limit(1).limit(None).all()) == 6


def test_limit_applies_after_where(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).filter(User.age < 40).order_by(User.age.desc()).limit(2).all()
    assert sorted(u.name for u in found) == ["Ann", "Ñu"]


def test_distinct_drops_duplicate_rows_null_included(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        cities = session.execute(select(User.city).distinct().order_by(User.city)).scalars().all()
    assert cities == ["Bergen", "Oslo", "Trondheim", None]


def test_distinct_compares_whole_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(
            select(User.city, User.active).distinct().order_by(User.city, User.active)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Bergen", False), ("Bergen", True), ("Oslo", True), ("Trondheim", False), (None, True),
    ]


def test_distinct_then_limit_counts_distinct_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        stmt = select(User.age).distinct().order_by(User.age).offset(1).limit(2)
        assert session.execute(stmt).scalars().all() == [31, 65]


def test_distinct_on_list_documents(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        tags = session.execute(select(User.tags).distinct()).scalars().all()
    assert len(tags) == 4
    assert sorted(map(str, tags)) == sorted(map(str, [["a"], [], None, ["b", "c"]]))
