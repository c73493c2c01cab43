"""Queries over a table whose indexes were rebuilt by large commits.

A commit touching more than ``REBUILD_THRESHOLD`` rows rebuilds the sorted and
hash indexes in one pass instead of changing them row by row. One table is
loaded that way, then changed by one large UPDATE + DELETE commit (a rebuild
over existing rows); random queries must still agree with the reference.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytuck import Session, Storage, delete, select, update
from pytuck.engines.memory.store import REBUILD_THRESHOLD
from tests.property.query_strategies import (
    TWIN_OF,
    build_condition,
    conditions,
    open_table,
)
from tests.property.reference import comparable, is_match, run_query

_ROWS = REBUILD_THRESHOLD + 1_000
_UPDATED = REBUILD_THRESHOLD + 200  # rows id <= _UPDATED get new indexed values
_DELETED_FROM = _ROWS - 300  # rows id > _DELETED_FROM are deleted


def _random_rows(seed: int) -> list[dict[str, Any]]:
    generator = random.Random(seed)
    words = ["", "a", "A", "ab", "aB", "é", "É", "ß", "\u212a", "a_%", "zz", "\\"]

    def maybe(value: Any) -> Any:
        return None if generator.random() < 0.15 else value

    def moment() -> dt.datetime:
        hours = dt.timedelta(hours=generator.randint(-3, 3))
        zone = generator.choice([None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=2))])
        if zone is None:
            return dt.datetime(2024, 3, 1, 12) + hours
        return (dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc) + hours).astimezone(zone)

    rows = []
    for key in range(1, _ROWS + 1):
        number = generator.randint(-50, 50)
        text = generator.choice(words)
        real = generator.randint(-40, 40) / 4
        rows.append(
            {
                "id": key,
                "i_sorted": maybe(number),
                "i_plain": maybe(generator.randint(-50, 50)),
                "s_hash": maybe(text),
                "s_sorted": maybe(text),
                "s_plain": maybe(generator.choice(words)),
                "f": maybe(real),
                "f_sorted": maybe(generator.randint(-40, 40) / 4),
                "d": maybe(Decimal(generator.randint(-40, 40)) / 4),
                "b": maybe(generator.random() < 0.5),
                "b_hash": maybe(generator.random() < 0.5),
                "t_sorted": maybe(moment()),
                "t_hash": maybe(moment()),
                "t_plain": maybe(moment()),
            }
        )
    return rows


@pytest.fixture(scope="module")
def bulk_table() -> Iterator[tuple[Storage, Any, list[dict[str, Any]]]]:
    """A table loaded and then changed by commits large enough to rebuild indexes.

    Yields the storage, the model and the rows the reference should see.
    """
    storage, item = open_table()
    rows = _random_rows(seed=20_240_601)
    with Session(storage) as session:
        session.add_all(item(**row) for row in rows)
        session.commit()
        # One commit of > REBUILD_THRESHOLD changes over existing rows: indexed
        # columns take their unindexed neighbours' values, the tail is deleted.
        session.execute(
            update(item)
            .where(item.id <= _UPDATED)
            .values(
                i_sorted=item.i_plain,
                s_sorted=item.s_plain,
                s_hash=item.s_plain,
                f_sorted=item.f,
                t_sorted=item.t_plain,
            )
        )
        session.execute(delete(item).where(item.id > _DELETED_FROM))
        session.commit()
    for row in rows:
        if row["id"] <= _UPDATED:
            row.update(
                i_sorted=row["i_plain"],
                s_sorted=row["s_plain"],
                s_hash=row["s_plain"],
                f_sorted=row["f"],
                t_sorted=row["t_plain"],
            )
    yield storage, item, [row for row in rows if row["id"] <= _DELETED_FROM]
    storage.close()


@given(description=conditions())
def test_filter_after_index_rebuild_matches_reference(
    bulk_table: tuple[Storage, Any, list[dict[str, Any]]], description: Any
) -> None:
    storage, item, rows = bulk_table
    condition = build_condition(description, item)

    with Session(storage) as session:
        found = sorted(session.scalars(select(item.id).where(condition)).all())

    assert found == sorted(row["id"] for row in rows if is_match(condition, row))


@given(
    column=st.sampled_from(sorted(TWIN_OF)),
    descending=st.booleans(),
    nulls=st.sampled_from([None, "first", "last"]),
    limit=st.integers(0, 30),
    offset=st.integers(0, 30),
)
def test_index_walk_after_index_rebuild_matches_reference(
    bulk_table: tuple[Storage, Any, list[dict[str, Any]]],
    column: str,
    descending: bool,
    nulls: Any,
    limit: int,
    offset: int,
) -> None:
    storage, item, rows = bulk_table
    target = getattr(item, column)
    ordering = target.desc() if descending else target.asc()
    if nulls is not None:
        ordering = ordering.nulls_first() if nulls == "first" else ordering.nulls_last()

    with Session(storage) as session:
        statement = select(target).order_by(ordering).limit(limit).offset(offset)
        found = session.scalars(statement).all()

    expected = run_query(rows, orderings=[ordering], columns=[target], limit=limit, offset=offset)
    # Tied values (a naive and an aware datetime naming one UTC wall clock)
    # may come in either order: compare them as they sort.
    assert [(comparable(value),) for value in found] == [
        (comparable(value),) for (value,) in expected
    ]
