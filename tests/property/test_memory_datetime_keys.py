"""Lookups by a datetime primary key agree with the reference.

The planner answers ``key == value`` and ``key.in_([...])`` from the table's
dict of keys. Datetimes compare on the UTC wall clock (a naive value read as
UTC, see tests/property/reference.py), which a dict lookup alone does not do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from pytuck import Column, Session, Storage, declarative_base, select
from tests.property.query_strategies import build_condition, datetimes
from tests.property.reference import is_match

_UTC = dt.timezone.utc


def _open_events() -> tuple[Storage, Any]:
    storage = Storage(in_memory=True)
    base: Any = declarative_base(storage)

    class Event(base):  # type: ignore[misc, valid-type]
        __tablename__ = "events"
        at = Column(dt.datetime, primary_key=True)
        n = Column(int, nullable=True)

    return storage, Event


_key = ("col", "at")
_key_conditions = st.one_of(
    st.tuples(st.just("cmp"), st.just("eq"), st.just(_key), st.tuples(st.just("lit"), datetimes)),
    st.tuples(st.just("cmp"), st.just("eq"), st.tuples(st.just("lit"), datetimes), st.just(_key)),
    st.tuples(st.just("in"), st.just(_key), st.lists(datetimes, max_size=3), st.booleans()),
)


@given(keys=st.lists(datetimes, unique=True, max_size=8), description=_key_conditions)
# A naive key equals the aware value naming its UTC wall clock in a scan; the
# planner's dict lookup used to miss it.
@example(
    keys=[dt.datetime(2024, 3, 1, 12)],
    description=("cmp", "eq", _key, ("lit", dt.datetime(2024, 3, 1, 12, tzinfo=_UTC))),
)
@example(
    keys=[dt.datetime(2024, 3, 1, 12, tzinfo=_UTC)],
    description=("in", _key, [dt.datetime(2024, 3, 1, 12)], False),
)
def test_datetime_key_lookup_matches_reference(keys: list[dt.datetime], description: Any) -> None:
    storage, event = _open_events()
    rows = [{"at": key, "n": number} for number, key in enumerate(keys)]
    condition = build_condition(description, event)
    with Session(storage) as session:
        session.add_all(event(**row) for row in rows)
        session.commit()

        found = sorted(session.scalars(select(event.n).where(condition)).all())

    assert found == [row["n"] for row in rows if is_match(condition, row)]
