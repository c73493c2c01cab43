"""Keys and unique values: DuplicateKeyError at flush, atomic flushes, assigned keys."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, DuplicateKeyError, IntegrityError, Session, insert


def snapshot(storage: Any, model: Any) -> dict[Any, dict[str, Any]]:
    """Every committed row of ``model`` by key, as a fresh session reads it."""
    with Session(storage) as session:
        return {row.id: row.to_dict() for row in session.query(model)}


def test_taken_primary_key_raises_at_flush(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    session.add(User(id=1, name="Copy"))
    with pytest.raises(DuplicateKeyError) as caught:
        session.flush()
    error = caught.value
    assert (error.table_name, error.column_name, error.pk) == ("users", "id", 1)
    assert "users" in str(error) and "id" in str(error) and "1" in str(error)
    session.close()


def test_taken_unique_value_raises_at_flush(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    session.add(User(name="Copy", email="bob@x.io"))
    with pytest.raises(DuplicateKeyError) as caught:
        session.flush()
    error = caught.value
    assert (error.table_name, error.column_name) == ("users", "email")
    assert error.pk is None and error.details["value"] == "bob@x.io"
    assert "users.email" in str(error) and "bob@x.io" in str(error)
    session.close()


def test_duplicate_key_error_is_an_integrity_error(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    session.add(User(id=2, name="Copy"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.close()


def test_unique_value_taken_by_an_update_raises_at_flush(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    session.get(User, 1).email = "bob@x.io"
    with pytest.raises(DuplicateKeyError, match="email"):
        session.flush()
    session.close()


def test_two_pending_rows_with_one_unique_value_raise(storage: Any, User: Any) -> None:
    session = Session(storage)
    session.add_all([User(name="A", email="same@x.io"), User(name="B", email="same@x.io")])
    with pytest.raises(DuplicateKeyError, match="same@x.io"):
        session.flush()
    session.close()


def test_duplicate_from_an_insert_statement_raises(storage: Any, User: Any, people: Any) -> None:
    session = Session(storage)
    with pytest.raises(DuplicateKeyError):
        session.execute(insert(User).values(name="Copy", email="ann@x.io"))
    session.close()


def test_unique_value_freed_in_the_same_transaction_can_be_reused(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        session.delete(session.get(User, 2))
        session.flush()
        session.add(User(name="New Bob", email="bob@x.io"))
        session.commit()
    assert [r["name"] for r in snapshot(storage, User).values() if r["email"] == "bob@x.io"] == [
        "New Bob"
    ]


def test_session_is_usable_after_rollback_of_a_duplicate(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Copy", email="ann@x.io"))
        with pytest.raises(DuplicateKeyError):
            session.commit()
        session.rollback()
        session.add(User(name="Fine", email="fine@x.io"))
        session.commit()
        assert session.query(User).count() == 7


def test_failed_flush_leaves_the_database_as_before(storage: Any, User: Any, people: Any) -> None:
    before = snapshot(storage, User)
    with Session(storage, autoflush=False) as session:
        ann, eve = session.get(User, 1), session.get(User, 5)
        session.add(User(name="Good"))
        ann.age = 77
        session.delete(eve)
        session.add(User(name="Bad", email="bob@x.io"))
        with pytest.raises(DuplicateKeyError):
            session.flush()
        assert session.query(User).count() == 6
        assert session.query(User).filter(User.age == 77).count() == 0
        assert session.query(User).filter(User.id == 5).count() == 1
        session.rollback()
    assert snapshot(storage, User) == before


def test_failed_flush_leaves_the_instances_as_before(storage: Any, User: Any, people: Any) -> None:
    with Session(storage, autoflush=False) as session:
        ann, eve = session.get(User, 1), session.get(User, 5)
        good = User(name="Good")
        bad = User(name="Bad", email="bob@x.io")
        session.add_all([good, bad])
        ann.age = 77
        session.delete(eve)
        with pytest.raises(DuplicateKeyError):
            session.flush()
        assert good.id is None and bad.id is None
        assert good in session and bad in session
        assert ann.age == 77 and eve in session
        session.rollback()


def test_flush_succeeds_once_the_failing_value_is_fixed(storage: Any, User: Any, people: Any) -> None:
    with Session(storage, autoflush=False) as session:
        ann, eve = session.get(User, 1), session.get(User, 5)
        bad = User(name="Bad", email="bob@x.io")
        session.add_all([User(name="Good"), bad])
        ann.age = 77
        session.delete(eve)
        with pytest.raises(DuplicateKeyError):
            session.flush()
        bad.email = "bad@x.io"
        session.commit()
    rows = snapshot(storage, User)
    assert {r["name"] for r in rows.values()} == {"Ann", "Bob", "cy", "Dée", "Ñu", "Good", "Bad"}
    assert rows[1]["age"] == 77


def test_failed_update_in_a_flush_undoes_that_flushs_inserts(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage, autoflush=False) as session:
        ann = session.get(User, 1)
        good = User(name="Good")
        session.add(good)
        ann.email = "bob@x.io"
        with pytest.raises(DuplicateKeyError):
            session.flush()
        assert good.id is None and good in session
        assert session.query(User).count() == 6
        ann.email = "ann@y.io"
        session.commit()
    rows = snapshot(storage, User)
    assert rows[1]["email"] == "ann@y.io" and len(rows) == 7


def test_empty_integer_keys_are_assigned_increasing(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        users = [User(name=str(i)) for i in range(5)]
        session.add_all(users)
        session.commit()
        keys = [u.id for u in users]
    assert keys == sorted(keys) and len(set(keys)) == 5
    assert all(isinstance(k, int) for k in keys)


def test_keys_assigned_in_later_transactions_keep_increasing(storage: Any, User: Any) -> None:
    keys = []
    for name in ["a", "b", "c"]:
        with Session(storage) as session:
            user = User(name=name)
            session.add(user)
            session.commit()
            keys.append(user.id)
    assert keys[0] < keys[1] < keys[2]


def test_key_of_a_deleted_row_is_not_reused(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add_all([User(name="a"), User(name="b")])
        session.commit()
        last = session.query(User).filter_by(name="b").one()
        top = last.id
        session.delete(last)
        session.commit()
        again = User(name="c")
        session.add(again)
        session.commit()
    assert again.id > top


def test_key_of_a_rolled_back_insert_is_not_reused(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="a"))
        session.commit()
        dropped = User(name="dropped")
        session.add(dropped)
        session.flush()
        taken = dropped.id
        session.rollback()
        kept = User(name="kept")
        session.add(kept)
        session.commit()
    assert kept.id > taken


def test_explicit_key_moves_the_next_assigned_key_past_it(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(id=40, name="forty"))
        session.commit()
        after = User(name="after")
        session.add(after)
        session.commit()
    assert after.id > 40


def test_text_primary_key_must_be_given(storage: Any, Base: Any) -> None:
    class Tag(Base):
        __tablename__ = "tags"
        code = Column(str, primary_key=True)

    session = Session(storage)
    session.add(Tag())
    with pytest.raises(IntegrityError, match="code"):
        session.flush()
    session.close()


def test_keys_assigned_to_rows_of_one_statement_are_returned(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        result = session.execute(insert(User).values([{"name": "a"}, {"name": "b"}]))
        keys = result.inserted_primary_keys
        session.commit()
    assert len(keys) == 2 and keys[0] < keys[1]
    assert result.inserted_primary_key == keys[1]
    assert sorted(snapshot(storage, User)) == sorted(keys)
