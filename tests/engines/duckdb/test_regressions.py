"""Disagreements with the memory engine found by the differential tests, kept as regressions.

Each test runs one statement on the memory engine and on DuckDB and wants the
same answer (tests/property/test_differential.py found each of them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pytuck import Column, Session, Storage, declarative_base, delete, func, literal, select, update
from pytuck.engines.sql.duckdb.connection import _Ledger


def declare(storage: Storage) -> Any:
    """A table with the column kinds the findings involve."""
    base: Any = declarative_base(storage)

    class Row(base):  # type: ignore[misc, valid-type]
        __tablename__ = "diff_rows"
        id = Column(int, primary_key=True)
        i = Column(int)
        iw = Column(int)
        fw = Column(float)
        dec = Column(Decimal)
        jd = Column(dict)
        dtn = Column(dt.datetime)

    return Row


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[list[tuple[Storage, Any]]]:
    """The memory engine and DuckDB, each with the Row model."""
    storages = [Storage(in_memory=True), Storage(str(tmp_path / "d.duckdb"), engine="duckdb")]
    try:
        yield [(storage, declare(storage)) for storage in storages]
    finally:
        for storage in storages:
            storage.close()


def agree(pair: list[tuple[Storage, Any]], rows: list[dict[str, Any]], query: Callable[[Any], Any]) -> Any:
    """Load ``rows`` on both engines, run ``query(model)`` on both, return the common answer."""
    answers = []
    for storage, model in pair:
        with Session(storage) as session:
            session.execute(delete(model))
            for row in rows:
                session.add(model(**row))
            session.commit()
            result = session.execute(query(model))
            answers.append(sorted(map(tuple, result.all()), key=repr))
    assert answers[0] == answers[1]
    return answers[0]


def test_ordering_distinct_rows_by_a_literal(pair: list[tuple[Storage, Any]]) -> None:
    # DuckDB refuses a bare parameter in ORDER BY.
    got = agree(pair, [{"i": 1}], lambda m: select(literal(0)).select_from(m).distinct().order_by(literal(0)))
    assert got == [(0,)]


def test_grouping_by_an_expression_with_a_value(pair: list[tuple[Storage, Any]]) -> None:
    # DuckDB cannot see that ``i % ?`` selected and ``i % ?`` grouped are one expression.
    rows = [{"i": n} for n in (1, 2, 3, -1)]
    got = agree(pair, rows, lambda m: select(m.i % 2, func.count()).group_by(m.i % 2).order_by(m.i % 2))
    assert got == [(0, 1), (1, 3)]


def test_documents_equal_with_one_and_one_point_zero(pair: list[tuple[Storage, Any]]) -> None:
    rows = [{"jd": {"a": 1}}, {"jd": {"a": 1.0}}, {"jd": {"a": True}}, {"jd": {"a": 2}}]
    got = agree(pair, rows, lambda m: select(m.id).where(m.jd == {"a": 1}))
    assert len(got) == 3


def test_decimal_between_a_decimal_and_infinity(pair: list[tuple[Storage, Any]]) -> None:
    rows = [{"dec": Decimal("1.50")}, {"dec": Decimal("-7")}]
    got = agree(pair, rows, lambda m: select(m.dec).where(m.dec.between(Decimal("1.50"), float("inf"))))
    assert got == [(Decimal("1.50"),)]


def test_int_and_float_compare_exactly_past_two_to_the_53(pair: list[tuple[Storage, Any]]) -> None:
    rows = [{"iw": 2**53 + 1, "fw": 2.0**53}, {"iw": 2**63 - 1, "fw": 2.0**63}]
    got = agree(pair, rows, lambda m: select(m.iw).where(m.iw == m.fw))
    assert got == []
    assert len(agree(pair, rows, lambda m: select(m.iw).where(m.iw < m.fw))) == 1


def test_update_storing_ints_in_a_decimal_column(pair: list[tuple[Storage, Any]]) -> None:
    for storage, model in pair:
        with Session(storage) as session:
            session.add(model(id=1, i=-7))
            session.execute(update(model).values(dec=model.i * 2))
            assert str(session.execute(select(model.dec)).scalar()) == "-14"


def test_ledger_refuses_only_rows_committed_after_a_start() -> None:
    ledger = _Ledger()
    slow = ledger.begin()
    fast = ledger.begin()
    with ledger.lock:
        ledger.committed(fast, {"t": {1}})
    assert ledger.changed_since(slow, "t", 1)
    assert not ledger.changed_since(slow, "t", 2)
    later = ledger.begin()
    assert not ledger.changed_since(later, "t", 1)
    ledger.end(slow)
    ledger.end(later)
    assert ledger.versions == {}  # nobody open: nothing left to compare with
