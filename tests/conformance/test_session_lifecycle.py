"""Session operations on instances and on the session: merge, refresh, expunge,
expire, commit, rollback, close and the ``with`` forms.

A session that must see another session's commit ends its own transaction
first (``commit()``), so the tests hold on engines with snapshot isolation.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import (
    DetachedInstanceError,
    RecordNotFoundError,
    Session,
    TransactionError,
)


def committed(storage: Any, model: Any, key: Any) -> Any:
    """The row ``key`` of ``model`` as a fresh session reads it (or None)."""
    with Session(storage) as session:
        return session.get(model, key)


# --- get -----------------------------------------------------------------------


def test_get_loads_a_row_by_key(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        bob = session.get(User, 2)
        assert bob is not None and (bob.name, bob.age) == ("Bob", 70)


def test_get_converts_the_key_to_the_column_type(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        bob = session.get(User, "2")
        assert bob is not None and bob.name == "Bob"


# --- merge ---------------------------------------------------------------------


def test_merge_copies_a_detached_instance_onto_the_session_one(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        outside = session.get(User, 1)
    outside.city = "Lima"
    with Session(storage) as session:
        inside = session.get(User, 1)
        merged = session.merge(outside)
        assert merged is inside and merged is not outside and inside.city == "Lima"
        session.commit()
    assert committed(storage, User, 1).city == "Lima"


def test_merge_of_a_new_instance_adds_a_copy(storage: Any, User: Any) -> None:
    outside = User(name="Ann")
    with Session(storage) as session:
        merged = session.merge(outside)
        session.commit()
        assert merged is not outside and merged.id is not None
    assert outside.id is None
    assert committed(storage, User, merged.id).name == "Ann"


def test_merge_with_a_key_loads_the_stored_row(storage: Any, User: Any, people: Any) -> None:
    outside = User(id=2, name="Robert", age=70)
    with Session(storage) as session:
        merged = session.merge(outside)
        assert merged.email == "bob@x.io"
        session.commit()
    stored = committed(storage, User, 2)
    assert stored.name == "Robert"


# --- refresh -------------------------------------------------------------------


@pytest.mark.parametrize("reload", ["refresh", "expire"])
def test_reload_discards_unflushed_changes(
    storage: Any, User: Any, people: Any, reload: str  # noqa: N803
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        ann.city = "Paris"
        getattr(session, reload)(ann)
        assert ann.city == "Oslo"
        session.commit()
    assert committed(storage, User, 1).city == "Oslo"


def test_refresh_loads_another_sessions_commit(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.commit()
        with Session(storage) as other:
            other.get(User, 1).age = 50
            other.commit()
        session.refresh(ann)
        assert ann.age == 50


def test_refresh_of_a_removed_row_raises(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.commit()
        with Session(storage) as other:
            other.delete(other.get(User, 1))
            other.commit()
        with pytest.raises(RecordNotFoundError):
            session.refresh(ann)


def test_refresh_of_an_instance_outside_the_session_raises(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
    with Session(storage) as session:
        with pytest.raises(DetachedInstanceError):
            session.refresh(ann)


# --- expunge -------------------------------------------------------------------


def test_expunged_instance_leaves_the_session(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.expunge(ann)
        assert ann not in session
        assert session.get(User, 1) is not ann


def test_changes_of_an_expunged_instance_are_not_written(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        ann.city = "Paris"
        session.expunge(ann)
        session.commit()
    assert committed(storage, User, 1).city == "Oslo"


def test_expunged_pending_instance_is_not_inserted(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        session.expunge(user)
        session.commit()
        assert session.query(User).count() == 0


def test_expunge_all_empties_the_session(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        loaded = session.query(User).all()
        session.expunge_all()
        assert not any(u in session for u in loaded)


# --- expire --------------------------------------------------------------------


def test_expired_instance_reloads_on_access(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.commit()
        with Session(storage) as other:
            other.get(User, 1).age = 44
            other.commit()
        assert ann.age == 31
        session.expire(ann)
        assert ann.age == 44


def test_expired_instance_reloads_when_queried(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.commit()
        with Session(storage) as other:
            other.get(User, 1).age = 44
            other.commit()
        session.expire(ann)
        found = session.query(User).filter(User.age == 44).one()
        assert found is ann and found.age == 44


def test_assignment_to_an_expired_instance_keeps_other_columns(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.expire(ann)
        ann.age = 5
        assert (ann.name, ann.age) == ("Ann", 5)
        session.commit()
    stored = committed(storage, User, 1)
    assert (stored.name, stored.age, stored.city) == ("Ann", 5, "Oslo")


def test_expire_all_reloads_every_instance(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        loaded = session.query(User).order_by(User.id).all()
        session.commit()
        with Session(storage) as other:
            for user in other.query(User):
                user.age = 1
            other.commit()
        session.expire_all()
        assert [u.age for u in loaded] == [1] * 6


def test_expired_detached_instance_raises_on_access(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    ann = session.get(User, 1)
    session.expire(ann)
    session.expunge(ann)
    with pytest.raises(DetachedInstanceError):
        _ = ann.age
    session.close()


# --- commit, rollback, close ------------------------------------------------------


def test_rollback_discards_pending_instances(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        session.rollback()
        assert user not in session
        assert session.query(User).count() == 0


def test_rollback_discards_unflushed_assignments(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        ann.city = "Paris"
        session.rollback()
        assert ann.city == "Oslo"


def test_session_is_usable_after_commit(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.commit()
        session.add(User(name="Bob"))
        session.commit()
        assert session.query(User).count() == 2


def test_close_discards_uncommitted_changes(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    session.get(User, 1).city = "Paris"
    session.add(User(name="Zed"))
    session.flush()
    session.close()
    assert committed(storage, User, 1).city == "Oslo"
    with Session(storage) as check:
        assert check.query(User).filter_by(name="Zed").count() == 0


def test_close_detaches_instances_with_their_values(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    ann = session.get(User, 1)
    session.close()
    assert ann not in session and ann.city == "Oslo"


def test_closed_session_can_be_used_again_and_starts_empty(storage: Any, User: Any) -> None:  # noqa: N803
    session = Session(storage)
    ann = User(name="Ann")
    session.add(ann)
    session.close()
    assert ann not in session
    session.add(User(name="Bob"))
    session.commit()
    assert [u.name for u in session.query(User).all()] == ["Bob"]
    session.close()


def test_close_twice_is_harmless(storage: Any) -> None:
    session = Session(storage)
    session.close()
    session.close()


# --- with Session(...) and with session.begin() ---------------------------------------


def test_with_session_commits_on_normal_exit(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Ann"))
    with Session(storage) as session:
        assert session.query(User).count() == 1


def test_with_session_rolls_back_on_exception(storage: Any, User: Any, people: Any) -> None:
    with pytest.raises(KeyError):
        with Session(storage) as session:
            session.add(User(name="Zed"))
            session.get(User, 1).city = "Paris"
            session.flush()
            raise KeyError("boom")
    with Session(storage) as session:
        assert session.query(User).count() == 6
        assert session.get(User, 1).city == "Oslo"


def test_with_session_closes_it(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
    assert ann not in session


def test_begin_block_commits_at_its_end(storage: Any, User: Any) -> None:
    session = Session(storage)
    with session.begin():
        session.add(User(name="Ann"))
    with Session(storage) as other:
        assert other.query(User).count() == 1
    session.close()


def test_begin_block_rolls_back_when_it_raises(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    with pytest.raises(ValueError):
        with session.begin():
            session.get(User, 1).city = "Paris"
            session.add(User(name="Zed"))
            session.flush()
            raise ValueError("no")
    assert session.get(User, 1).city == "Oslo"
    assert session.query(User).count() == 6
    session.close()


def test_begin_blocks_run_one_after_another(storage: Any, User: Any) -> None:
    session = Session(storage)
    with session.begin():
        session.add(User(name="Ann"))
    with session.begin():
        session.add(User(name="Bob"))
    assert session.query(User).count() == 2
    session.close()


def test_begin_inside_begin_nested_is_refused(storage: Any, User: Any) -> None:
    session = Session(storage)
    with session.begin_nested():
        with pytest.raises(TransactionError):
            with session.begin():
                pass
    session.close()


def test_with_session_raises_the_commit_error_and_writes_nothing(
    storage: Any, User: Any, people: Any
) -> None:
    from pytuck import DuplicateKeyError

    with pytest.raises(DuplicateKeyError):
        with Session(storage) as session:
            session.add(User(name="Fine"))
            session.add(User(name="Copy", email="ann@x.io"))
    with Session(storage) as session:
        assert session.query(User).count() == 6


def test_begin_inside_begin_raises_and_commits_nothing(storage: Any, User: Any) -> None:  # noqa: N803
    session = Session(storage)
    with pytest.raises(TransactionError):
        with session.begin():
            session.add(User(name="Ann"))
            with session.begin():
                pass
    session.close()
    assert committed_count(storage, User) == 0


def test_session_scalars_returns_a_result_with_all(storage: Any, User: Any) -> None:  # noqa: N803
    from pytuck import select

    with Session(storage) as session:
        session.add_all([User(name="Bob"), User(name="Ann")])
        session.flush()
        names = session.scalars(select(User.name).order_by(User.name)).all()
    assert names == ["Ann", "Bob"]


def test_pending_dirty_and_deleted_collections(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        ann, bob = User(name="Ann"), User(name="Bob")
        session.add_all([ann, bob])
        assert session.new == [ann, bob]
        session.flush()
        ann.name = "Anna"
        session.delete(bob)
        assert (session.new, session.dirty, session.deleted) == ([], [ann], [bob])


def committed_count(storage: Any, model: Any) -> int:
    """How many rows of ``model`` a fresh session sees."""
    with Session(storage) as session:
        return session.query(model).count()
