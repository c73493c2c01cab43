"""The identity map: one instance per stored row in a session."""

from __future__ import annotations

from typing import Any

from pytuck import Session, select


def test_get_twice_returns_the_same_instance(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        assert session.get(User, 1) is session.get(User, 1)


def test_query_and_get_return_the_same_instance(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        queried = session.query(User).filter_by(name="Ann").one()
        assert session.get(User, queried.id) is queried


def test_two_queries_return_the_same_instances(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        first = session.query(User).order_by(User.id).all()
        second = session.execute(select(User).order_by(User.id)).scalars().all()
        assert all(a is b for a, b in zip(first, second)) and len(first) == 6


def test_added_instance_is_the_one_found_after_flush(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        session.flush()
        assert session.query(User).filter_by(name="Ann").one() is user
        assert session.get(User, user.id) is user


def test_identity_survives_commit_in_the_same_session(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        session.commit()
        assert session.get(User, user.id) is user


def test_two_sessions_hold_distinct_instances(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as first, Session(storage) as second:
        assert first.get(User, 1) is not second.get(User, 1)


def test_unsaved_change_is_kept_when_the_row_is_queried_again(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        session.autoflush = False
        ann = session.get(User, 1)
        ann.city = "Paris"
        again = session.query(User).filter(User.id == 1).one()
        assert again is ann and again.city == "Paris"


def test_get_of_a_missing_key_is_none(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        assert session.get(User, 999) is None


def test_instance_is_in_its_session(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session, Session(storage) as other:
        ann = session.get(User, 1)
        assert ann in session and ann not in other


def test_query_in_a_later_transaction_refreshes_the_instance(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.commit()
        with Session(storage) as other:
            other.get(User, 1).age = 50
            other.commit()
        found = session.query(User).filter(User.age == 50).one()
        assert found is ann and ann.age == 50


def test_get_in_a_later_transaction_refreshes_the_instance(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.commit()
        with Session(storage) as other:
            other.get(User, 1).city = "Rome"
            other.commit()
        assert session.get(User, 1) is ann and ann.city == "Rome"


def test_refresh_in_a_later_transaction_keeps_unsaved_changes(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage, autoflush=False) as session:
        ann = session.get(User, 1)
        session.commit()
        ann.city = "Paris"
        session.query(User).all()
        assert ann.city == "Paris"
