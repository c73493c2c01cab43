"""Model classes and instances: key-less models, to_dict, repr, detached values, tables."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, SchemaError, Session, declarative_base, delete, update


@pytest.fixture
def Log(storage: Any, Base: Any) -> Any:
    """A model with no primary key: rows are told apart by a hidden row id."""

    class Log(Base):
        __tablename__ = "logs"
        level = Column(str, index=True)
        message = Column(str)

    return Log


def test_keyless_model_rows_insert_and_query(storage: Any, Log: Any) -> None:
    with Session(storage) as session:
        session.add_all([Log(level="info", message="a"), Log(level="warn", message="b")])
        session.commit()
    with Session(storage) as session:
        found = session.query(Log).filter(Log.level == "warn").all()
        assert [log.message for log in found] == ["b"]
        assert session.query(Log).count() == 2


def test_keyless_model_rows_with_equal_values_stay_distinct(storage: Any, Log: Any) -> None:
    with Session(storage) as session:
        session.add_all([Log(level="info", message="same"), Log(level="info", message="same")])
        session.commit()
    with Session(storage) as session:
        assert session.query(Log).count() == 2


def test_keyless_model_instance_updates_by_assignment(storage: Any, Log: Any) -> None:
    with Session(storage) as session:
        session.add_all([Log(level="info", message="a"), Log(level="info", message="b")])
        session.commit()
    with Session(storage) as session:
        target = session.query(Log).filter_by(message="a").one()
        target.level = "error"
        session.commit()
    with Session(storage) as session:
        levels = {log.message: log.level for log in session.query(Log)}
    assert levels == {"a": "error", "b": "info"}


def test_keyless_model_instance_deletes(storage: Any, Log: Any) -> None:
    with Session(storage) as session:
        session.add_all([Log(level="info", message="a"), Log(level="info", message="b")])
        session.commit()
    with Session(storage) as session:
        session.delete(session.query(Log).filter_by(message="a").one())
        session.commit()
    with Session(storage) as session:
        assert [log.message for log in session.query(Log)] == ["b"]


def test_keyless_model_bulk_update_and_delete_statements(storage: Any, Log: Any) -> None:
    with Session(storage) as session:
        session.add_all(Log(level="info", message=str(i)) for i in range(4))
        session.commit()
    with Session(storage) as session:
        assert session.execute(update(Log).where(Log.message < "2").values(level="old")).rowcount == 2
        assert session.execute(delete(Log).where(Log.message == "3")).rowcount == 1
        session.commit()
    with Session(storage) as session:
        found = {log.message: log.level for log in session.query(Log)}
    assert found == {"0": "old", "1": "old", "2": "info"}


def test_keyless_model_to_dict_hides_the_row_id(storage: Any, Log: Any) -> None:
    with Session(storage) as session:
        session.add(Log(level="info", message="a"))
        session.commit()
        assert session.query(Log).one().to_dict() == {"level": "info", "message": "a"}


def test_to_dict_gives_every_column(storage: Any, User: Any) -> None:
    user = User(name="Ann", email="ann@x.io", age=31, score=9.5, city="Oslo", tags=["a"])
    assert user.to_dict() == {
        "id": None,
        "name": "Ann",
        "email": "ann@x.io",
        "age": 31,
        "score": 9.5,
        "active": True,
        "city": "Oslo",
        "tags": ["a"],
    }


def test_to_dict_include_and_exclude(User: Any) -> None:
    user = User(name="Ann", age=31)
    assert user.to_dict(include={"name", "age"}) == {"name": "Ann", "age": 31}
    assert "tags" not in user.to_dict(exclude={"tags"})


def test_to_dict_of_a_stored_instance_has_its_key(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        user = User(name="Ann")
        session.add(user)
        session.commit()
        assert user.to_dict()["id"] == user.id and isinstance(user.id, int)


def test_repr_names_the_model_and_its_values(User: Any) -> None:
    text = repr(User(name="Ann", age=31))
    assert text.startswith("User(") and "name='Ann'" in text and "age=31" in text


def test_repr_shortens_long_values(User: Any) -> None:
    text = repr(User(name="x" * 500))
    assert len(text) < 300


def test_instance_keeps_loaded_values_after_session_closes(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        ann = session.query(User).filter_by(name="Ann").one()
    assert (ann.name, ann.age, ann.tags) == ("Ann", 31, ["a"])


def test_instance_keeps_values_after_commit_and_close(storage: Any, User: Any) -> None:
    session = Session(storage)
    user = User(name="Ann", age=31)
    session.add(user)
    session.commit()
    session.close()
    assert (user.id, user.name, user.age) == (1, "Ann", 31)


def test_table_is_created_when_the_model_is_declared(storage: Any, Base: Any) -> None:
    class Thing(Base):
        __tablename__ = "things"
        id = Column(int, primary_key=True)

    assert "things" in storage.table_names()


def test_abstract_base_creates_no_table(storage: Any, Base: Any) -> None:
    class Stamped(Base):
        __abstract__ = True
        created = Column(str)

    class Thing(Stamped):
        __tablename__ = "things"
        id = Column(int, primary_key=True)

    assert storage.table_names() == ["things"]
    assert set(Thing.__columns__) == {"created", "id"}


def test_two_primary_keys_are_refused(Base: Any) -> None:
    with pytest.raises(SchemaError, match="primary"):

        class Pair(Base):
            __tablename__ = "pairs"
            a = Column(int, primary_key=True)
            b = Column(int, primary_key=True)


def test_model_for_a_stored_table_with_another_type_is_refused(storage: Any, User: Any) -> None:
    other_base = declarative_base(storage)
    with pytest.raises(SchemaError) as caught:

        class Other(other_base):  # type: ignore[misc, valid-type]
            __tablename__ = "users"
            id = Column(int, primary_key=True)
            name = Column(str, nullable=False)
            email = Column(str, unique=True)
            age = Column(str)
            score = Column(float)
            active = Column(bool)
            city = Column(str)
            tags = Column(list)

    message = str(caught.value)
    assert "users" in message and "age" in message and "str" in message and "int" in message


def test_reopened_table_with_another_type_is_refused(make_storage: Any) -> None:
    storage = make_storage()

    class Item(declarative_base(storage)):  # type: ignore[misc]
        __tablename__ = "items"
        id = Column(int, primary_key=True)
        price = Column(float)

    with Session(storage) as session:
        session.add(Item(price=1.5))
        session.commit()
    reopened = make_storage.reopen(storage)
    with pytest.raises(SchemaError) as caught:

        class Item2(declarative_base(reopened)):  # type: ignore[misc]
            __tablename__ = "items"
            id = Column(int, primary_key=True)
            price = Column(str)

    message = str(caught.value)
    assert "items" in message and "price" in message and "float" in message


def test_reopened_table_with_the_same_model_reads_its_rows(make_storage: Any) -> None:
    storage = make_storage()

    def declare(db: Any) -> Any:
        class Item(declarative_base(db)):  # type: ignore[misc]
            __tablename__ = "items"
            id = Column(int, primary_key=True)
            price = Column(float)

        return Item

    item = declare(storage)
    with Session(storage) as session:
        session.add(item(price=1.5))
        session.commit()
    reopened = make_storage.reopen(storage)
    item = declare(reopened)
    with Session(reopened) as session:
        assert [i.price for i in session.query(item)] == [1.5]


def test_declared_table_is_kept_without_rows(make_storage: Any) -> None:
    storage = make_storage()

    class Empty(declarative_base(storage)):  # type: ignore[misc]
        __tablename__ = "empty"
        id = Column(int, primary_key=True)

    reopened = make_storage.reopen(storage)
    assert "empty" in reopened.table_names()


def test_primary_key_of_a_stored_row_cannot_change(storage: Any, User: Any, people: Any) -> None:
    from pytuck import ValidationError

    with Session(storage) as session:
        ann = session.get(User, 1)
        with pytest.raises(ValidationError, match="primary key"):
            ann.id = 100
        assert ann.id == 1
