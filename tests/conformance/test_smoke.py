"""A first end-to-end pass: the DESIGN.md example works on every engine."""

from __future__ import annotations

from typing import Any

from pytuck import Session, func, or_, select


def test_add_commit_query_with_or(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).filter(or_(User.age >= 65, User.name == "Ann")).all()
    assert sorted(u.name for u in found) == ["Ann", "Bob", "Eve"]


def test_grouped_count_by_city(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(
            select(User.city, func.count()).group_by(User.city).order_by(User.city)
        ).all()
    assert [tuple(r) for r in rows] == [("Bergen", 2), ("Oslo", 2), ("Trondheim", 1), (None, 1)]
