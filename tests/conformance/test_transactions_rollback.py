"""rollback() restores exactly the state at begin, flushed writes and statements included,
and puts instances back in step with it."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, Session, delete, insert, update


def snapshot(storage: Any, model: Any) -> dict[Any, dict[str, Any]]:
    """Every committed row of ``model`` by key, as a fresh session reads it."""
    with Session(storage) as session:
        return {row.id: row.to_dict() for row in session.query(model)}


def test_rollback_removes_flushed_inserts(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        session.add(User(name="Zed"))
        session.flush()
        session.rollback()
        assert session.query(User).count() == 6
    assert snapshot(storage, User) == before


def test_rollback_restores_flushed_updates(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        session.get(User, 1).age = 99
        session.flush()
        session.rollback()
        assert session.query(User).filter(User.age == 99).count() == 0
    assert snapshot(storage, User) == before


def test_rollback_restores_flushed_deletes(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        session.delete(session.get(User, 1))
        session.flush()
        session.rollback()
        assert session.query(User).count() == 6
    assert snapshot(storage, User) == before


def test_rollback_undoes_an_update_statement(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        result = session.execute(update(User).where(User.age > 30).values(age=User.age + 1))
        assert result.rowcount == 4
        session.rollback()
    assert snapshot(storage, User) == before


def test_rollback_undoes_a_delete_statement(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        assert session.execute(delete(User).where(User.city == "Oslo")).rowcount == 2
        session.rollback()
    assert snapshot(storage, User) == before


def test_rollback_undoes_an_insert_statement(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        session.execute(insert(User).values([{"name": "Zed"}, {"name": "Yan"}]))
        session.rollback()
    assert snapshot(storage, User) == before


def test_rollback_undoes_query_update(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        assert session.query(User).filter(User.city == "Bergen").update({"city": "X"}) == 2
        session.rollback()
    assert snapshot(storage, User) == before


def test_rollback_undoes_query_delete(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        assert session.query(User).filter(User.active == False).delete() == 2  # noqa: E712
        session.rollback()
    assert snapshot(storage, User) == before


def test_rollback_undoes_a_mix_of_everything(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage) as session:
        session.add(User(name="Zed", email="ann2@x.io"))
        session.get(User, 2).name = "Bobby"
        session.delete(session.get(User, 3))
        session.flush()
        session.execute(update(User).values(score=0.0))
        session.query(User).filter(User.name == "Zed").delete()
        session.add(User(name="Late"))
        session.rollback()
    assert snapshot(storage, User) == before


def test_rollback_restores_every_table(storage: Any, Base: Any, User: Any, people: Any) -> None:
    class Order(Base):
        __tablename__ = "orders"
        id = Column(int, primary_key=True)
        user_id = Column(int)

    users_before = snapshot(storage, User)
    with Session(storage) as session:
        session.add(Order(user_id=1))
        session.get(User, 1).age = 1
        session.flush()
        session.rollback()
    assert snapshot(storage, User) == users_before
    assert snapshot(storage, Order) == {}


def test_rollback_goes_back_to_the_last_commit_only(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Kept"))
        session.commit()
        session.add(User(name="Dropped"))
        session.flush()
        session.rollback()
    assert [row["name"] for row in snapshot(storage, User).values()] == ["Kept"]


def test_instance_inserted_in_the_rolled_back_transaction_is_transient(
    storage: Any, User: Any
) -> None:
    with Session(storage) as session:
        user = User(name="Zed")
        session.add(user)
        session.flush()
        session.rollback()
        assert user not in session
        assert user.id is None
        assert user.name == "Zed"


def test_transient_instance_after_rollback_can_be_added_again(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Zed")
        session.add(user)
        session.flush()
        session.rollback()
        session.add(user)
        session.commit()
    assert [row["name"] for row in snapshot(storage, User).values()] == ["Zed"]


def test_instance_with_its_own_key_is_transient_after_rollback(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(id=50, name="Zed")
        session.add(user)
        session.flush()
        session.rollback()
        assert user not in session and user.id == 50
        assert session.get(User, 50) is None


def test_instance_deleted_in_the_rolled_back_transaction_comes_back(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.delete(ann)
        session.flush()
        session.rollback()
        assert ann in session
        assert session.get(User, 1) is ann
        assert ann.name == "Ann"


def test_instance_deleted_but_not_flushed_comes_back(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.delete(ann)
        session.rollback()
        assert session.get(User, 1) is ann
        session.commit()
    assert 1 in snapshot(storage, User)


def test_modified_instance_shows_the_old_values_again(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        ann.age = 99
        ann.tags = ["new"]
        session.flush()
        session.rollback()
        assert (ann.age, ann.tags) == (31, ["a"])


def test_instance_changed_by_an_update_statement_shows_old_values(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.execute(update(User).values(city="Nowhere"))
        assert ann.city == "Nowhere"
        session.rollback()
        assert ann.city == "Oslo"


def test_instance_removed_by_a_delete_statement_is_found_again(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        session.execute(delete(User).where(User.id == 1))
        assert session.get(User, 1) is None
        session.rollback()
        ann = session.get(User, 1)
        assert ann is not None and ann.name == "Ann"


def test_rollback_without_changes_is_harmless(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.rollback()
        session.rollback()
        assert session.query(User).count() == 6


@pytest.mark.parametrize("how", ["rollback", "close"])
def test_uncommitted_work_never_reaches_a_reopened_database(
    make_storage: Any, how: str
) -> None:
    from pytuck import declarative_base

    storage = make_storage()

    class Item(declarative_base(storage)):  # type: ignore[misc]
        __tablename__ = "items"
        id = Column(int, primary_key=True)
        label = Column(str)

    with Session(storage) as session:
        session.add(Item(label="kept"))
    session = Session(storage)
    session.add(Item(label="dropped"))
    session.flush()
    getattr(session, how)()
    reopened = make_storage.reopen(storage)

    class Again(declarative_base(reopened)):  # type: ignore[misc]
        __tablename__ = "items"
        id = Column(int, primary_key=True)
        label = Column(str)

    with Session(reopened) as check:
        assert [i.label for i in check.query(Again)] == ["kept"]
