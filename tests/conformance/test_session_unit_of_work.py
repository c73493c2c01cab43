"""Unit of work: add, add_all, delete, dirty tracking, autoflush and flush."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, PytuckError, Session, TransactionError


def names(storage: Any, model: Any) -> list[str]:
    """Names of every committed row, as a fresh session sees them."""
    with Session(storage) as session:
        return sorted(u.name for u in session.query(model))


def test_add_then_commit_stores_the_row(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.commit()
    assert names(storage, User) == ["Ann"]


def test_add_all_stores_every_row(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add_all([User(name="Ann"), User(name="Bob")])
        session.commit()
    assert names(storage, User) == ["Ann", "Bob"]


def test_add_all_takes_a_generator(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add_all(User(name=n) for n in "xyz")
        session.commit()
    assert names(storage, User) == ["x", "y", "z"]


def test_adding_twice_inserts_once(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        session.add(user)
        session.commit()
    assert names(storage, User) == ["Ann"]


def test_flush_assigns_the_key_of_a_new_instance(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        assert user.id is None
        session.flush()
        assert isinstance(user.id, int)


def test_attribute_assignment_is_written_at_commit(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.get(User, 1).city = "Paris"
        session.commit()
    with Session(storage) as session:
        assert session.get(User, 1).city == "Paris"


def test_assignment_of_none_is_written(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.get(User, 1).age = None
        session.commit()
    with Session(storage) as session:
        assert session.get(User, 1).age is None


def test_only_assigned_columns_are_written(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
    with Session(storage) as other:
        other.get(User, 1).city = "Rome"
        other.commit()
    ann.age = 40
    with Session(storage) as session:
        session.add(ann)
        session.commit()
    with Session(storage) as session:
        ann = session.get(User, 1)
        assert (ann.city, ann.age) == ("Rome", 40)


def test_changes_of_a_detached_instance_are_written_when_added_again(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
    ann.city = "Lima"
    with Session(storage) as session:
        session.add(ann)
        session.commit()
    with Session(storage) as session:
        assert session.get(User, 1).city == "Lima"


def test_query_autoflushes_pending_instances(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Ann"))
        assert session.query(User).filter_by(name="Ann").count() == 1


def test_query_autoflushes_assignments(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.get(User, 1).age = 99
        assert [u.name for u in session.query(User).filter(User.age == 99)] == ["Ann"]


def test_query_autoflushes_deletes(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.delete(session.get(User, 1))
        assert session.query(User).count() == 5


def test_without_autoflush_a_query_does_not_see_pending_rows(storage: Any, User: Any) -> None:
    with Session(storage, autoflush=False) as session:
        session.add(User(name="Ann"))
        assert session.query(User).count() == 0
        session.flush()
        assert session.query(User).count() == 1


def test_delete_removes_the_row_at_commit(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.delete(session.get(User, 1))
        session.commit()
    with Session(storage) as session:
        assert session.get(User, 1) is None


def test_get_of_a_deleted_instance_is_none_before_flush(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.delete(session.get(User, 1))
        assert session.get(User, 1) is None


def test_deleting_a_pending_instance_drops_it(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        session.delete(user)
        session.commit()
        assert user not in session
    assert names(storage, User) == []


def test_delete_of_a_detached_instance_removes_its_row(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
    with Session(storage) as session:
        session.delete(ann)
        session.commit()
    assert "Ann" not in names(storage, User)


def test_adding_back_a_deleted_instance_keeps_it(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        session.delete(ann)
        session.add(ann)
        session.commit()
    assert "Ann" in names(storage, User)


def test_instance_of_one_open_session_cannot_join_another(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as first, Session(storage) as second:
        ann = first.get(User, 1)
        with pytest.raises(TransactionError):
            second.add(ann)


def test_flush_makes_rows_visible_to_the_same_session_only(storage: Any, User: Any) -> None:
    with Session(storage) as session, Session(storage) as other:
        session.add(User(name="Ann"))
        session.flush()
        assert session.query(User).count() == 1
        assert other.query(User).count() == 0


def test_commit_makes_rows_visible_to_other_sessions(storage: Any, User: Any) -> None:
    with Session(storage) as session, Session(storage) as other:
        session.add(User(name="Ann"))
        session.commit()
        assert other.query(User).count() == 1


def test_inserts_updates_and_deletes_of_one_flush_all_apply(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Zed"))
        session.get(User, 2).city = "Rome"
        session.delete(session.get(User, 3))
        session.commit()
    with Session(storage) as session:
        rows = {u.name: u.city for u in session.query(User)}
    assert "Zed" in rows and rows["Bob"] == "Rome" and "cy" not in rows


def test_flag_modified_writes_an_in_place_list_edit(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.get(User, 1)
        ann.tags.append("z")
        session.flag_modified(ann, "tags")
        session.commit()
    with Session(storage) as session:
        assert session.get(User, 1).tags == ["a", "z"]


def test_flag_modified_writes_an_in_place_dict_edit(storage: Any, Base: Any) -> None:
    class Doc(Base):
        __tablename__ = "docs"
        id = Column(int, primary_key=True)
        body = Column(dict)

    with Session(storage) as session:
        session.add(Doc(body={"a": 1}))
        session.commit()
    with Session(storage) as session:
        doc = session.get(Doc, 1)
        doc.body["b"] = {"c": [1, 2]}
        session.flag_modified(doc, "body")
        session.commit()
    with Session(storage) as session:
        assert session.get(Doc, 1).body == {"a": 1, "b": {"c": [1, 2]}}


def test_in_place_edit_never_reaches_other_sessions_before_commit(
    storage: Any, User: Any, people: Any
) -> None:
    with Session(storage) as session, Session(storage) as other:
        session.get(User, 1).tags.append("z")
        assert other.get(User, 1).tags == ["a"]


def test_flag_modified_of_an_unknown_attribute_is_refused(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        with pytest.raises(PytuckError, match="nope"):
            session.flag_modified(session.get(User, 1), "nope")

