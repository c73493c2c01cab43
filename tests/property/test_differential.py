"""Differential property tests: every engine returns exactly what the memory engine returns.

Each test opens the memory engine and one other engine once, then for every
hypothesis example clears the table, loads the example's rows into both and
runs the example's statements on both (DESIGN.md, The contract: "random
schemas, data and queries run on every engine must return the same rows").
The memory engine is the oracle. Engines come from the conformance suite's
list (``tests/conformance/conftest.py``: registered engines, narrowed by
``PYTUCK_ENGINES``), so an engine that registers is covered with no edit here.

Run against one engine::

    PYTUCK_ENGINES=sqlite python -m pytest -q tests/property/test_differential.py
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytuck import Session, Storage, delete, insert, select, update
from pytuck.errors import PytuckError
from tests.conformance.conftest import ENGINES, StorageFactory
from tests.property.differential_compare import EQUAL, EXACT, assert_same_rows, comparison_mode
from tests.property.differential_strategies import (
    COLUMN_TYPES,
    ORDERABLE_COLUMNS,
    build_condition,
    build_item,
    build_operand,
    build_ordering,
    cases,
    conditions,
    declare_model,
    group_queries,
    order_terms,
    rows,
    select_items,
    written_value,
)

#: Every engine under test except the oracle itself.
OTHER_ENGINES = [name for name in ENGINES if name != "memory"]

Rows = list[dict[str, Any]]
Make = Callable[[Any], Any]  # model class -> statement


@dataclass
class Pair:
    """The oracle (memory) and the engine under test, each with its model class."""

    name: str
    oracle: Storage
    oracle_model: Any
    engine: Storage
    engine_model: Any

    def sides(self) -> tuple[tuple[Storage, Any], tuple[Storage, Any]]:
        """(storage, model) of the oracle, then of the engine."""
        return (self.oracle, self.oracle_model), (self.engine, self.engine_model)


@pytest.fixture(params=OTHER_ENGINES)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    """Memory and one other engine, opened once for the whole test function.

    PostgreSQL gets its own schema, dropped afterwards (the conformance
    suite's :class:`StorageFactory` does both); file engines a temp folder.
    """
    factory = StorageFactory(str(request.param), tmp_path)
    oracle = Storage(in_memory=True)
    try:
        engine = factory()
        yield Pair(factory.engine, oracle, declare_model(oracle), engine, declare_model(engine))
    finally:
        oracle.close()
        factory.close_all()


def load(pair: Pair, data: Rows) -> None:
    """Replace the table's rows with ``data`` on both sides (a DELETE, then one INSERT)."""
    for storage, model in pair.sides():
        with Session(storage) as session:
            session.execute(delete(model))
            if data:
                session.execute(insert(model).values(data))
            session.commit()


@dataclass
class Outcome:
    """What a statement gave: its rows, or the class of the error it raised."""

    rows: list[tuple[Any, ...]]
    error: str | None = None


def _run(storage: Storage, model: Any, make: Make, entities: bool) -> Outcome:
    with Session(storage) as session:
        try:
            result = session.execute(make(model))
        except PytuckError as exc:
            return Outcome([], f"{type(exc).__name__}: {exc}")
        if entities:
            names = ("id", *COLUMN_TYPES)
            return Outcome([tuple(getattr(obj, n) for n in names) for obj in result.scalars().all()])
        return Outcome([tuple(row) for row in result.all()])


def check(
    pair: Pair,
    make: Make,
    modes: Sequence[str],
    ordered: bool,
    what: str,
    entities: bool = False,
) -> None:
    """Run ``make(model)`` on both sides and fail unless the engine agrees with memory.

    An error in memory (a statement the contract refuses) must be the same
    error class on the engine; an engine error memory did not raise fails.
    """
    expected = _run(pair.oracle, pair.oracle_model, make, entities)
    try:
        actual = _run(pair.engine, pair.engine_model, make, entities)
    except Exception as exc:  # a raw driver error is a finding, shown with the query
        raise AssertionError(
            f"{pair.name} raised {type(exc).__name__}: {exc}\n  query: {what}\n"
            f"  memory gave: {expected.rows if expected.error is None else expected.error}"
        ) from exc
    if expected.error is not None or actual.error is not None:
        want = (expected.error or "rows").split(":")[0]
        got = (actual.error or "rows").split(":")[0]
        assert want == got, (
            f"{pair.name}: {what}\n  memory: {expected.error or expected.rows!r}\n"
            f"  engine: {actual.error or actual.rows!r}"
        )
        return
    assert_same_rows(expected.rows, actual.rows, modes, ordered, f"{pair.name}: {what}")


def _modes(items: Sequence[Any], model: Any, picked: bool = False) -> list[str]:
    return [comparison_mode(build_item(item, model), picked) for item in items]


# --- round trip --------------------------------------------------------------------------


@given(data=rows(8), probe=st.sampled_from(list(COLUMN_TYPES)))
def test_every_value_reads_back_equal_and_of_the_same_type(
    pair: Pair, data: Rows, probe: str
) -> None:
    """Written values come back exactly (bool as bool, Decimal scale, -0.0, UTC),
    as entities and as column tuples, and equality on a stored value finds its rows."""
    for storage, model in pair.sides():
        with Session(storage) as session:
            session.execute(delete(model))
            session.add_all(model(**row) for row in data)
            session.commit()
    names = ("id", *COLUMN_TYPES)
    written = [tuple(written_value(row[n]) for n in names) for row in data]
    modes = [EXACT] * len(names)
    for storage, model in pair.sides():
        with Session(storage) as session:
            instances = session.scalars(select(model).order_by(model.id)).all()
            as_entities = [tuple(getattr(obj, n) for n in names) for obj in instances]
            columns = [getattr(model, n) for n in names]
            as_tuples = [tuple(r) for r in session.execute(select(*columns).order_by(model.id)).all()]
        where = f"{storage.engine_name}: read back"
        assert_same_rows(written, as_entities, modes, True, where + " as entities")
        assert_same_rows(written, as_tuples, modes, True, where + " as column tuples")
    for value in {repr(row[probe]): row[probe] for row in data if row[probe] is not None}.values():

        def equal_to_stored(m: Any, stored: Any = value) -> Any:
            return select(m.id).where(getattr(m, probe) == stored)

        check(pair, equal_to_stored, [EXACT], False, f"select id where {probe} == {value!r}")


# --- filtering ---------------------------------------------------------------------------


# Loading rows costs more than a query on most engines: each example runs
# several conditions over one load.
@given(case=cases(st.lists(conditions(6), min_size=1, max_size=3)))
def test_filtered_entities_match(pair: Pair, case: tuple[Rows, list[Any]]) -> None:
    """select(Model).where(condition): the same rows (a multiset), values exact."""
    data, descriptions = case
    load(pair, data)
    for description in descriptions:
        _check_filtered(pair, description)


def _check_filtered(pair: Pair, description: Any) -> None:
    check(
        pair,
        lambda m: select(m).where(build_condition(description, m)),
        [EXACT] * (1 + len(COLUMN_TYPES)),
        False,
        f"select entities where {description!r}",
        entities=True,
    )
    check(
        pair,
        lambda m: select(m.id, m.s).where(build_condition(description, m)),
        [EXACT, EXACT],
        False,
        f"select id, s where {description!r}",
    )


@given(case=cases(conditions(4)), negate=st.booleans())
def test_delete_and_update_by_condition_match(
    pair: Pair, case: tuple[Rows, Any], negate: bool
) -> None:
    """UPDATE ... WHERE and DELETE ... WHERE change the same rows and count them alike."""
    data, description = case
    load(pair, data)
    counts = []
    for storage, model in pair.sides():
        condition = build_condition(description, model)
        with Session(storage) as session:
            changed = session.execute(update(model).where(condition).values(s="•marked•")).rowcount
            removed = session.execute(
                delete(model).where(model.s != "•marked•" if negate else model.s == "•marked•")
            ).rowcount
            session.commit()
        counts.append((int(changed), int(removed)))
    assert counts[0] == counts[1], f"{pair.name}: (updated, deleted) counts for {description!r}"
    check(
        pair,
        lambda m: select(m.id, m.s),
        [EXACT, EXACT],
        False,
        f"rows left after update/delete where {description!r}",
    )


# --- ordering, limit, offset -------------------------------------------------------------

_optional_conditions = st.one_of(st.none(), conditions(4))
_limits = st.one_of(st.none(), st.integers(0, 6))
_offsets = st.one_of(st.none(), st.integers(0, 4))


@given(
    case=cases(
        st.fixed_dictionaries(
            {
                "where": _optional_conditions,
                "terms": st.lists(order_terms, min_size=1, max_size=2),
                "extras": st.lists(select_items, max_size=2),
            }
        )
    ),
    key_descending=st.booleans(),
    limit=_limits,
    offset=_offsets,
)
def test_ordered_windows_match(
    pair: Pair,
    case: tuple[Rows, dict[str, Any]],
    key_descending: bool,
    limit: int | None,
    offset: int | None,
) -> None:
    """ORDER BY 1-2 terms then the key (a total order), LIMIT/OFFSET: the same list."""
    data, query = case
    load(pair, data)
    items = [("col", "id"), *(term[0] for term in query["terms"]), *query["extras"]]
    ordering = [*query["terms"], (("col", "id"), key_descending, None)]

    def make(m: Any) -> Any:
        statement = select(*(build_item(item, m) for item in items)).select_from(m)
        if query["where"] is not None:
            statement = statement.where(build_condition(query["where"], m))
        statement = statement.order_by(*(build_ordering(term, m) for term in ordering))
        return statement.limit(limit).offset(offset)

    what = f"select {items!r} where {query['where']!r} order by {ordering!r} limit {limit} offset {offset}"
    check(pair, make, _modes(items, pair.oracle_model), True, what)


def _uses_true_division(description: Any) -> bool:
    if isinstance(description, tuple):
        return description[:2] == ("arith", "truediv") or any(
            _uses_true_division(part) for part in description
        )
    return False


# Distinct rows of values that differ in their last bits would count differently.
_distinct_items = select_items.filter(lambda item: not _uses_true_division(item))
_orderable_items = _distinct_items.filter(lambda item: item[0] != "col" or item[1] in ORDERABLE_COLUMNS)


@given(
    case=cases(
        st.fixed_dictionaries(
            {"where": _optional_conditions, "items": st.lists(_distinct_items, min_size=1, max_size=2)}
        )
    )
)
def test_distinct_values_match(pair: Pair, case: tuple[Rows, dict[str, Any]]) -> None:
    """SELECT DISTINCT of 1-2 columns or expressions: the same set of rows.

    Values compare with ``==`` (:data:`EQUAL`): of 0.0 and -0.0, or of
    Decimal 1.5 and 1.50, an engine may keep either.
    """
    data, query = case
    load(pair, data)
    items = query["items"]

    def make(m: Any) -> Any:
        statement = select(*(build_item(item, m) for item in items)).select_from(m).distinct()
        if query["where"] is not None:
            statement = statement.where(build_condition(query["where"], m))
        return statement

    what = f"select distinct {items!r} where {query['where']!r}"
    check(pair, make, [EQUAL] * len(items), False, what)


_directions = st.tuples(st.booleans(), st.sampled_from([None, "first", "last"]))


@given(
    case=cases(
        st.lists(st.tuples(_orderable_items, _directions), min_size=1, max_size=2)
    ),
    limit=_limits,
    offset=_offsets,
)
def test_ordered_distinct_window_matches(
    pair: Pair,
    case: tuple[Rows, list[Any]],
    limit: int | None,
    offset: int | None,
) -> None:
    """SELECT DISTINCT ordered by every selected item (a total order), then LIMIT/OFFSET."""
    data, terms = case
    load(pair, data)
    items = [item for item, _ in terms]
    ordering = [(item, *direction) for item, direction in terms]

    def make(m: Any) -> Any:
        statement = select(*(build_item(item, m) for item in items)).select_from(m).distinct()
        statement = statement.order_by(*(build_ordering(term, m) for term in ordering))
        return statement.limit(limit).offset(offset)

    what = f"select distinct {items!r} order by {ordering!r} limit {limit} offset {offset}"
    check(pair, make, [EQUAL] * len(items), True, what)


# --- grouping and aggregates ---------------------------------------------------------------


_windows = st.one_of(st.none(), st.tuples(st.integers(0, 4), st.integers(0, 2)))


@given(case=cases(st.lists(st.tuples(group_queries, _windows), min_size=1, max_size=2)))
def test_grouped_aggregates_match(
    pair: Pair, case: tuple[Rows, list[tuple[dict[str, Any], tuple[int, int] | None]]]
) -> None:
    """GROUP BY 0-2 terms with count/sum/avg/min/max and HAVING: the same groups.

    Group keys compare with ``==`` (an engine may show any of the equal values
    of a group); avg and float sums within a relative 1e-9. With a window,
    groups are ordered by their keys (a total order) and sliced.
    """
    data, queries = case
    load(pair, data)
    for query, window in queries:
        _check_grouped(pair, query, window)


def _check_grouped(pair: Pair, query: dict[str, Any], window: tuple[int, int] | None) -> None:
    group, aggregates = query["group"], query["aggregates"]
    ordered = window is not None and bool(group) and all(
        term[0] != "col" or term[1] in ORDERABLE_COLUMNS for term in group
    )

    def make(m: Any) -> Any:
        statement = select(*(build_item(item, m) for item in (*group, *aggregates))).select_from(m)
        if query["where"] is not None:
            statement = statement.where(build_condition(query["where"], m))
        if group:
            statement = statement.group_by(*(build_operand(term, m) for term in group))
        if query["having"] is not None:
            statement = statement.having(build_condition(query["having"], m))
        if ordered and window is not None:
            statement = statement.order_by(*(build_ordering((t, False, None), m) for t in group))
            statement = statement.limit(window[0]).offset(window[1])
        return statement

    model = pair.oracle_model
    modes = [EQUAL] * len(group) + _modes(aggregates, model)
    what = f"group query {query!r} window {window if ordered else None}"
    check(pair, make, modes, ordered, what)
