"""The memory engine's planner and executor against the naive reference evaluator.

Random rows and random queries run through the public API (Storage, Session,
select) and through :mod:`tests.property.reference`; the answers must agree.
Each property reaches a different path of the engine: committed rows found
through the planner's indexes, a transaction's uncommitted overlay, the
ORDER BY + LIMIT index walk, UPDATE/DELETE by condition.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from pytuck import Session, select
from tests.property.query_strategies import (
    TWIN_OF,
    build_condition,
    build_operand,
    build_ordering,
    conditions,
    open_table,
    orderings,
    partial_row_values,
    rename_columns,
    row_values,
    twin_row_values,
)
from tests.property.reference import comparable, is_match, run_query

Row = dict[str, Any]

_UTC = dt.timezone.utc
_PLUS_TWO = dt.timezone(dt.timedelta(hours=2))
_NAIVE_NOON = dt.datetime(2024, 3, 1, 12)


def _row(**values: Any) -> Row:
    """A row of the model's columns, NULL where not given (for explicit examples)."""
    columns = (
        "i_sorted", "i_plain", "s_hash", "s_sorted", "s_plain", "f", "f_sorted", "d",
        "b", "b_hash", "t_sorted", "t_hash", "t_plain",
    )
    return {name: values.get(name) for name in columns}


rows_strategy = st.lists(row_values, max_size=20)
twin_rows_strategy = st.lists(twin_row_values(), max_size=20)
optional_conditions = st.one_of(st.none(), conditions())
limits = st.one_of(st.none(), st.integers(0, 8))
offsets = st.integers(0, 5)
edits = st.lists(
    st.one_of(
        st.tuples(st.just("delete"), st.integers(0, 30)),
        st.tuples(st.just("update"), st.integers(0, 30), partial_row_values),
        st.tuples(st.just("insert"), row_values),
    ),
    max_size=8,
)


def _with_keys(values: list[Row]) -> list[Row]:
    """Rows as the reference sees them: keys 1..n added."""
    return [{"id": key, **row} for key, row in enumerate(values, start=1)]


def _add(session: Session, model: Any, rows: list[Row]) -> None:
    session.add_all(model(**row) for row in rows)


def _matching_keys(session: Session, model: Any, condition: Any) -> list[Any]:
    query = session.query(model)
    if condition is not None:
        query = query.filter(condition)
    return sorted(item.id for item in query.all())


def _expected_keys(rows: list[Row], condition: Any) -> list[Any]:
    return sorted(row["id"] for row in rows if is_match(condition, row))


def _ordered_select(model: Any, condition: Any, terms: list[Any], limit: Any, offset: int) -> Any:
    elements = [build_operand(term[0], model) for term in terms]
    statement = select(*elements).order_by(*(build_ordering(t, model) for t in terms))
    if condition is not None:
        statement = statement.where(condition)
    return statement.limit(limit).offset(offset)


def _reference_ordered(
    rows: list[Row], model: Any, condition: Any, terms: list[Any], limit: Any, offset: int
) -> list[tuple[Any, ...]]:
    return run_query(
        rows,
        where=condition,
        orderings=[build_ordering(t, model) for t in terms],
        columns=[build_operand(term[0], model) for term in terms],
        limit=limit,
        offset=offset,
    )


def _tuples(result: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in result.all()]


def _as_keys(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows as they sort: a naive and an aware datetime naming one UTC wall clock
    tie, so either may come first; compare them as equal."""
    return [tuple(comparable(value) for value in row) for row in rows]


# --- (a) filtering committed rows ------------------------------------------------------


@given(values=rows_strategy, description=conditions())
# A literal datetime with an offset compares as its UTC instant (the executor
# used to drop the offset: 14:00+02:00 compared as 14:00).
@example(
    values=[_row(t_plain=dt.datetime(2024, 3, 1, 12, tzinfo=_UTC))],
    description=(
        "cmp", "eq", ("lit", dt.datetime(2024, 3, 1, 14, tzinfo=_PLUS_TWO)), ("col", "t_plain")
    ),
)
@example(
    values=[_row(t_sorted=dt.datetime(2024, 3, 1, 12, tzinfo=_UTC))],
    description=(
        "cmp", "lt", ("lit", dt.datetime(2024, 3, 1, 13, tzinfo=_PLUS_TWO)), ("col", "t_sorted")
    ),
)
def test_filter_on_committed_rows_matches_reference(values: list[Row], description: Any) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()
        condition = build_condition(description, item)

        found = _matching_keys(session, item, condition)

    assert found == _expected_keys(rows, condition)


# --- (d) the writing transaction's overlay, then the committed rows --------------------


@given(values=rows_strategy, description=conditions())
def test_filter_gives_same_rows_before_and_after_commit(
    values: list[Row], description: Any
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = build_condition(description, item)
    expected = _expected_keys(rows, condition)
    with Session(storage) as session:
        _add(session, item, rows)

        before = _matching_keys(session, item, condition)
        session.commit()
        after = _matching_keys(session, item, condition)

    assert before == expected
    assert after == expected


def _apply_edits(
    session: Session, model: Any, rows: list[Row], changes: list[Any], first_key: int
) -> list[Row]:
    """Apply ``changes`` through the session; return the rows the reference should see.

    Inserted rows take keys from ``first_key`` on.
    """
    current = {row["id"]: dict(row) for row in rows}
    next_key = first_key
    for change in changes:
        if change[0] == "insert":
            row = {"id": next_key, **change[1]}
            next_key += 1
            session.add(model(**row))
            current[row["id"]] = row
            continue
        if not current:
            continue
        key = sorted(current)[change[1] % len(current)]
        instance = session.get(model, key)
        if change[0] == "delete":
            session.delete(instance)
            del current[key]
        else:
            for name, value in change[2].items():
                setattr(instance, name, value)
            current[key].update(change[2])
    return list(current.values())


@given(values=rows_strategy, changes=edits, description=conditions())
def test_filter_sees_committed_rows_through_uncommitted_changes(
    values: list[Row], changes: list[Any], description: Any
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = build_condition(description, item)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()
        final_rows = _apply_edits(session, item, rows, changes, first_key=len(rows) + 1)
        expected = _expected_keys(final_rows, condition)

        before = _matching_keys(session, item, condition)
        session.commit()
        after = _matching_keys(session, item, condition)

    assert before == expected
    assert after == expected


class _UndoSavepoint(Exception):
    """Raised inside ``begin_nested()`` to roll the savepoint back."""


@given(values=rows_strategy, kept=edits, undone=edits, description=conditions())
def test_filter_after_savepoint_rollback_sees_only_kept_changes(
    values: list[Row], kept: list[Any], undone: list[Any], description: Any
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = build_condition(description, item)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()
        kept_rows = _apply_edits(session, item, rows, kept, first_key=len(rows) + 1)
        try:
            with session.begin_nested():
                _apply_edits(session, item, kept_rows, undone, first_key=len(rows) + 100)
                raise _UndoSavepoint
        except _UndoSavepoint:
            pass

        found = _matching_keys(session, item, condition)

    assert found == _expected_keys(kept_rows, condition)


# --- (c) the planner never drops rows ----------------------------------------------------


@given(values=twin_rows_strategy, description=conditions())
# A naive datetime equals the aware one naming its UTC wall clock in a scan;
# the hash index used to bucket them apart, so the planner dropped the row.
@example(
    values=[_row(t_sorted=_NAIVE_NOON, t_hash=_NAIVE_NOON, t_plain=_NAIVE_NOON)],
    description=("cmp", "eq", ("lit", dt.datetime(2024, 3, 1, 12, tzinfo=_UTC)), ("col", "t_hash")),
)
@example(
    values=[_row(t_sorted=_NAIVE_NOON, t_hash=_NAIVE_NOON, t_plain=_NAIVE_NOON)],
    description=("in", ("col", "t_sorted"), [dt.datetime(2024, 3, 1, 12, tzinfo=_UTC)], False),
)
def test_indexed_columns_and_unindexed_twins_match_same_rows(
    values: list[Row], description: Any
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    indexed = build_condition(description, item)
    unindexed = build_condition(rename_columns(description, TWIN_OF), item)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()

        through_indexes = _matching_keys(session, item, indexed)
        by_scanning = _matching_keys(session, item, unindexed)

    assert through_indexes == by_scanning == _expected_keys(rows, unindexed)


# --- (b) ordering, limit and offset --------------------------------------------------------


@given(
    values=rows_strategy,
    description=st.one_of(st.none(), conditions()),
    terms=orderings(),
    limit=limits,
    offset=offsets,
)
def test_ordered_window_matches_reference(
    values: list[Row], description: Any, terms: list[Any], limit: Any, offset: int
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = None if description is None else build_condition(description, item)
    statement = _ordered_select(item, condition, terms, limit, offset)
    expected = _reference_ordered(rows, item, condition, terms, limit, offset)
    with Session(storage) as session:
        _add(session, item, rows)

        before = _tuples(session.execute(statement))
        session.commit()
        after = _tuples(session.execute(statement))

    # Rows tied on every key may come in any order: compare the key tuples.
    assert _as_keys(before) == _as_keys(expected)
    assert _as_keys(after) == _as_keys(expected)


@given(
    values=rows_strategy,
    description=st.one_of(st.none(), conditions()),
    terms=orderings(max_size=2),
    descending_key=st.booleans(),
    limit=limits,
    offset=offsets,
)
def test_ordering_ending_with_the_key_gives_exact_rows(
    values: list[Row],
    description: Any,
    terms: list[Any],
    descending_key: bool,
    limit: Any,
    offset: int,
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = None if description is None else build_condition(description, item)
    terms = [*terms, (("col", "id"), descending_key, None)]
    statement = _ordered_select(item, condition, terms, limit, offset)
    expected = _reference_ordered(rows, item, condition, terms, limit, offset)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()

        found = _tuples(session.execute(statement))

    assert found == expected


# --- (e) the ORDER BY + LIMIT index walk -----------------------------------------------------


@given(
    values=twin_rows_strategy,
    description=st.one_of(st.none(), conditions()),
    column=st.sampled_from(["i_sorted", "s_sorted"]),
    descending=st.booleans(),
    nulls=st.sampled_from([None, "first", "last"]),
    limit=st.integers(0, 8),
    offset=offsets,
)
def test_index_walk_matches_full_sort(
    values: list[Row],
    description: Any,
    column: str,
    descending: bool,
    nulls: Any,
    limit: int,
    offset: int,
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = None if description is None else build_condition(description, item)
    walked = _ordered_select(item, condition, [(("col", column), descending, nulls)], limit, offset)
    sorted_plain = _ordered_select(
        item, condition, [(("col", TWIN_OF[column]), descending, nulls)], limit, offset
    )
    expected = _reference_ordered(
        rows, item, condition, [(("col", column), descending, nulls)], limit, offset
    )
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()

        from_index = _tuples(session.execute(walked))
        from_sort = _tuples(session.execute(sorted_plain))

    assert _as_keys(from_index) == _as_keys(from_sort) == _as_keys(expected)


# --- distinct ----------------------------------------------------------------------------


@given(
    values=rows_strategy,
    description=st.one_of(st.none(), conditions()),
    terms=orderings(),
    limit=limits,
    offset=offsets,
)
def test_distinct_ordered_values_match_reference(
    values: list[Row], description: Any, terms: list[Any], limit: Any, offset: int
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = None if description is None else build_condition(description, item)
    statement = _ordered_select(item, condition, terms, limit, offset).distinct()
    expected = run_query(
        rows,
        where=condition,
        orderings=[build_ordering(t, item) for t in terms],
        columns=[build_operand(term[0], item) for term in terms],
        distinct=True,
        limit=limit,
        offset=offset,
    )
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()

        found = _tuples(session.execute(statement))

    assert _as_keys(found) == _as_keys(expected)


# --- UPDATE and DELETE by condition --------------------------------------------------------


@given(values=rows_strategy, description=conditions())
def test_delete_by_condition_removes_exactly_matching_rows(
    values: list[Row], description: Any
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = build_condition(description, item)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()

        removed = session.query(item).filter(condition).delete()
        session.commit()
        remaining = _matching_keys(session, item, None)

    survivors = sorted(row["id"] for row in rows if not is_match(condition, row))
    assert removed == len(rows) - len(survivors)
    assert remaining == survivors


_MARKER = 777.25  # no generated float equals it


@given(values=rows_strategy, description=conditions())
def test_update_by_condition_changes_exactly_matching_rows(
    values: list[Row], description: Any
) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = build_condition(description, item)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()

        changed = session.query(item).filter(condition).update({"f": _MARKER})
        session.commit()
        marked = _matching_keys(session, item, item.f == _MARKER)

    assert marked == _expected_keys(rows, condition)
    assert changed == len(marked)



@given(values=rows_strategy, description=conditions())
def test_count_matches_reference(values: list[Row], description: Any) -> None:
    storage, item = open_table()
    rows = _with_keys(values)
    condition = build_condition(description, item)
    with Session(storage) as session:
        _add(session, item, rows)
        session.commit()

        counted = session.query(item).filter(condition).count()

    assert counted == len(_expected_keys(rows, condition))
