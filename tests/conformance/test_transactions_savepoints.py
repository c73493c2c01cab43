"""begin_nested(): savepoints that roll back on their own inside a transaction."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import DuplicateKeyError, Session, TransactionError, update


class Undo(Exception):
    """Raised inside a nested block to roll it back."""


def names(storage: Any, model: Any) -> list[str]:
    """Names of every committed row, as a fresh session sees them."""
    with Session(storage) as session:
        return sorted(u.name for u in session.query(model))


def test_failed_savepoint_undoes_only_its_own_changes(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="outer"))
        with pytest.raises(Undo):
            with session.begin_nested():
                session.add(User(name="inner"))
                raise Undo
        session.commit()
    assert names(storage, User) == ["outer"]


def test_savepoint_that_ends_normally_keeps_its_changes(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        with session.begin_nested():
            session.add(User(name="inner"))
        session.commit()
    assert names(storage, User) == ["inner"]


def test_savepoint_changes_still_go_away_with_the_outer_rollback(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        with session.begin_nested():
            session.add(User(name="inner"))
        session.rollback()
    assert names(storage, User) == []


def test_failed_savepoint_keeps_outer_flushed_changes(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.get(User, 1).name = "Anna"
        session.flush()
        with pytest.raises(Undo):
            with session.begin_nested():
                session.get(User, 2).name = "Bobby"
                session.delete(session.get(User, 3))
                raise Undo
        session.commit()
    assert names(storage, User) == ["Anna", "Bob", "Dée", "Eve", "cy", "Ñu"]


def test_failed_savepoint_undoes_an_update_statement(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        with pytest.raises(Undo):
            with session.begin_nested():
                session.execute(update(User).values(name="same"))
                raise Undo
        session.commit()
    assert names(storage, User) == ["Ann", "Bob", "Dée", "Eve", "cy", "Ñu"]


def test_inner_of_two_savepoints_rolls_back_alone(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="outer"))
        with session.begin_nested():
            session.add(User(name="middle"))
            with pytest.raises(Undo):
                with session.begin_nested():
                    session.add(User(name="inner"))
                    raise Undo
        session.commit()
    assert names(storage, User) == ["middle", "outer"]


def test_outer_of_two_savepoints_rolls_back_the_inner_too(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="outer"))
        with pytest.raises(Undo):
            with session.begin_nested():
                session.add(User(name="middle"))
                with session.begin_nested():
                    session.add(User(name="inner"))
                raise Undo
        session.commit()
    assert names(storage, User) == ["outer"]


def test_savepoints_one_after_another_roll_back_independently(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        for name in ["a", "b", "c", "d"]:
            try:
                with session.begin_nested():
                    session.add(User(name=name))
                    if name in ("b", "d"):
                        raise Undo
            except Undo:
                pass
        session.commit()
    assert names(storage, User) == ["a", "c"]


def test_instance_inserted_in_a_failed_savepoint_is_transient(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        kept = User(name="kept")
        session.add(kept)
        dropped = User(name="dropped")
        with pytest.raises(Undo):
            with session.begin_nested():
                session.add(dropped)
                session.flush()
                assert dropped.id is not None
                raise Undo
        assert dropped not in session and dropped.id is None
        assert kept in session


def test_instance_deleted_in_a_failed_savepoint_comes_back(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        with pytest.raises(Undo):
            with session.begin_nested():
                session.delete(ann)
                session.flush()
                raise Undo
        assert ann in session and session.get(User, 1) is ann


def test_instance_modified_in_a_failed_savepoint_shows_old_values(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        ann.age = 40
        with pytest.raises(Undo):
            with session.begin_nested():
                ann.age = 50
                session.flush()
                raise Undo
        assert ann.age == 40
        session.commit()
    with Session(storage) as session:
        assert session.get(User, 1).age == 40


def test_duplicate_inside_a_savepoint_leaves_the_outer_transaction_usable(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        session.add(User(name="Zed", email="zed@x.io"))
        with pytest.raises(DuplicateKeyError):
            with session.begin_nested():
                session.add(User(name="Copy", email="ann@x.io"))
        session.commit()
    assert "Zed" in names(storage, User) and "Copy" not in names(storage, User)


def test_commit_inside_a_savepoint_is_refused(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        with session.begin_nested():
            with pytest.raises(TransactionError):
                session.commit()
