"""Column options: keys, indexes, uniqueness, NULLs, defaults, conversion, names, checks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pytuck import (
    Column,
    DuplicateKeyError,
    SchemaError,
    Session,
    ValidationError,
    select,
)


def test_primary_key_identifies_the_row(storage: Any, Base: Any) -> None:
    class Tag(Base):
        __tablename__ = "tags"
        code = Column(str, primary_key=True)
        label = Column(str)

    with Session(storage) as session:
        session.add(Tag(code="py", label="Python"))
        session.commit()
    with Session(storage) as session:
        tag = session.get(Tag, "py")
        assert tag is not None and tag.label == "Python"


@pytest.mark.parametrize("kind", [True, "hash", "sorted"])
def test_indexed_column_answers_equality_and_ranges(storage: Any, Base: Any, kind: Any) -> None:
    class Item(Base):
        __tablename__ = "items"
        id = Column(int, primary_key=True)
        rank = Column(int, index=kind)

    with Session(storage) as session:
        session.add_all(Item(rank=r) for r in [5, 1, 3, None, 3])
        session.commit()
    with Session(storage) as session:
        assert sorted(i.id for i in session.query(Item).filter(Item.rank == 3)) == [3, 5]
        assert sorted(i.rank for i in session.query(Item).filter(Item.rank >= 3)) == [3, 3, 5]
        ordered = session.query(Item).order_by(Item.rank).limit(2).all()
        assert [i.rank for i in ordered] == [1, 3]


def test_index_kind_other_than_hash_or_sorted_is_refused() -> None:
    with pytest.raises(SchemaError, match="index"):
        Column(int, index="btree")


def test_unique_column_refuses_a_taken_value(storage: Any, Base: Any) -> None:
    class Account(Base):
        __tablename__ = "accounts"
        id = Column(int, primary_key=True)
        email = Column(str, unique=True)

    with Session(storage) as session:
        session.add(Account(email="a@x.io"))
        session.commit()
        session.add(Account(email="a@x.io"))
        with pytest.raises(DuplicateKeyError):
            session.flush()
        session.rollback()


def test_unique_column_allows_many_nulls(storage: Any, Base: Any) -> None:
    class Account(Base):
        __tablename__ = "accounts"
        id = Column(int, primary_key=True)
        email = Column(str, unique=True)

    with Session(storage) as session:
        session.add_all([Account(email=None), Account(email=None)])
        session.commit()
        assert session.query(Account).filter(Account.email == None).count() == 2  # noqa: E711


def test_non_nullable_column_refuses_none_at_construction(User: Any) -> None:
    with pytest.raises(ValidationError, match="name"):
        User(name=None)


def test_non_nullable_column_refuses_none_on_assignment(User: Any) -> None:
    user = User(name="Ann")
    with pytest.raises(ValidationError, match="name"):
        user.name = None


def test_non_nullable_column_left_empty_fails_at_flush(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(email="x@y.z"))
        with pytest.raises(ValidationError, match="name"):
            session.flush()
        session.rollback()


def test_nullable_column_stores_none(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Ann", age=None))
        session.commit()
    with Session(storage) as session:
        assert session.query(User).one().age is None


def test_default_applies_when_no_value_is_given(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.commit()
    with Session(storage) as session:
        assert session.query(User).one().active is True


def test_explicit_value_overrides_the_default(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        session.add(User(name="Ann", active=False))
        session.commit()
    with Session(storage) as session:
        assert session.query(User).one().active is False


def test_mutable_default_is_not_shared_between_instances(Base: Any) -> None:
    class Note(Base):
        __tablename__ = "notes"
        id = Column(int, primary_key=True)
        tags = Column(list, default=[])

    first, second = Note(), Note()
    first.tags.append("x")
    assert second.tags == []


def test_default_factory_is_called_for_each_instance(storage: Any, Base: Any) -> None:
    made = iter(range(100, 200))

    class Ticket(Base):
        __tablename__ = "tickets"
        id = Column(int, primary_key=True)
        number = Column(int, default_factory=lambda: next(made))

    with Session(storage) as session:
        session.add_all([Ticket(), Ticket()])
        session.commit()
    with Session(storage) as session:
        assert sorted(t.number for t in session.query(Ticket)) == [100, 101]


def test_default_and_default_factory_together_are_refused() -> None:
    with pytest.raises(SchemaError):
        Column(int, default=1, default_factory=lambda: 2)


def test_loose_column_converts_values(Base: Any) -> None:
    class Event(Base):
        __tablename__ = "events"
        id = Column(int, primary_key=True)
        count = Column(int)
        day = Column(date)

    event = Event(count="42", day="2024-02-29")
    assert event.count == 42 and event.day == date(2024, 2, 29)


def test_strict_column_refuses_conversion(Base: Any) -> None:
    class Event(Base):
        __tablename__ = "events"
        id = Column(int, primary_key=True)
        count = Column(int, strict=True)

    assert Event(count=7).count == 7
    with pytest.raises(ValidationError, match="count"):
        Event(count="7")


def test_wrong_type_error_names_model_column_and_value(Base: Any) -> None:
    class Event(Base):
        __tablename__ = "events"
        id = Column(int, primary_key=True)
        count = Column(int)

    with pytest.raises(ValidationError) as caught:
        Event(count="many")
    assert "Event.count" in str(caught.value) and "many" in str(caught.value)


def test_validator_rejecting_a_value_raises(Base: Any) -> None:
    class Person(Base):
        __tablename__ = "persons"
        id = Column(int, primary_key=True)
        age = Column(int, validator=lambda v: 0 <= v <= 150)

    assert Person(age=30).age == 30
    with pytest.raises(ValidationError, match="age"):
        Person(age=200)


def test_validator_runs_on_assignment(Base: Any) -> None:
    class Person(Base):
        __tablename__ = "persons"
        id = Column(int, primary_key=True)
        age = Column(int, validator=lambda v: v >= 0)

    person = Person(age=1)
    with pytest.raises(ValidationError, match="age"):
        person.age = -1


def test_validator_list_runs_every_check(Base: Any) -> None:
    def positive(value: int) -> bool:
        return value > 0

    def even(value: int) -> bool:
        if value % 2:
            raise ValueError("odd")
        return True

    class Number(Base):
        __tablename__ = "numbers"
        id = Column(int, primary_key=True)
        value = Column(int, validator=[positive, even])

    assert Number(value=4).value == 4
    with pytest.raises(ValidationError):
        Number(value=-2)
    with pytest.raises(ValidationError, match="odd"):
        Number(value=3)


def test_validator_sees_the_converted_value(Base: Any) -> None:
    seen: list[Any] = []

    class Number(Base):
        __tablename__ = "numbers"
        id = Column(int, primary_key=True)
        value = Column(int, validator=lambda v: seen.append(v) is None)

    Number(value="12")
    assert seen == [12]


def test_comment_is_kept_on_the_column(Base: Any) -> None:
    class Person(Base):
        __tablename__ = "persons"
        id = Column(int, primary_key=True)
        age = Column(int, comment="years, rounded down")

    assert Person.__columns__["age"].comment == "years, rounded down"


def test_unsupported_column_type_is_refused() -> None:
    with pytest.raises(SchemaError, match="set"):
        Column(set)


# --- name=: the attribute is stored under another column name -----------------


@pytest.fixture
def Renamed(storage: Any, Base: Any) -> Any:
    """A model whose attributes are stored under other column names."""

    class Person(Base):
        __tablename__ = "persons"
        id = Column(int, primary_key=True, name="person_id")
        full_name = Column(str, name="name_text", index=True)
        age = Column(int, name="age_years", index="sorted")

    with Session(storage) as session:
        session.add_all(
            [
                Person(full_name="Ann", age=31),
                Person(full_name="Bob", age=70),
                Person(full_name="Cy", age=18),
            ]
        )
        session.commit()
    return Person


def test_renamed_column_filters_through_the_attribute(storage: Any, Renamed: Any) -> None:
    with Session(storage) as session:
        found = session.query(Renamed).filter(Renamed.age > 20).order_by(Renamed.age).all()
    assert [p.full_name for p in found] == ["Ann", "Bob"]


def test_renamed_column_filter_by_takes_the_attribute_name(storage: Any, Renamed: Any) -> None:
    with Session(storage) as session:
        person = session.query(Renamed).filter_by(full_name="Bob").one()
    assert person.age == 70


def test_renamed_column_to_dict_uses_column_names_on_request(storage: Any, Renamed: Any) -> None:
    with Session(storage) as session:
        person = session.query(Renamed).filter_by(full_name="Cy").one()
        assert person.to_dict(use_column_names=True) == {
            "person_id": person.id,
            "name_text": "Cy",
            "age_years": 18,
        }
        assert person.to_dict() == {"id": person.id, "full_name": "Cy", "age": 18}


def test_renamed_column_order_by_accepts_either_name(storage: Any, Renamed: Any) -> None:
    with Session(storage) as session:
        by_attribute = session.query(Renamed).order_by("age", desc=True).all()
        by_column = session.query(Renamed).order_by("age_years", desc=True).all()
    assert [p.full_name for p in by_attribute] == ["Bob", "Ann", "Cy"]
    assert [p.full_name for p in by_column] == ["Bob", "Ann", "Cy"]


def test_renamed_column_updates_and_gets_through_the_key(storage: Any, Renamed: Any) -> None:
    with Session(storage) as session:
        ann = session.query(Renamed).filter_by(full_name="Ann").one()
        ann.age = 32
        key = ann.id
        session.commit()
    with Session(storage) as session:
        again = session.get(Renamed, key)
        assert again is not None and again.age == 32


def test_renamed_column_selects_values_by_attribute(storage: Any, Renamed: Any) -> None:
    with Session(storage) as session:
        names = session.execute(
            select(Renamed.full_name).where(Renamed.age < 50).order_by(Renamed.full_name)
        ).scalars().all()
    assert names == ["Ann", "Cy"]


def test_two_attributes_stored_under_one_name_are_refused(Base: Any) -> None:
    with pytest.raises(SchemaError, match="both stored"):

        class Clash(Base):
            __tablename__ = "clash"
            id = Column(int, primary_key=True)
            a = Column(int, name="value")
            b = Column(int, name="value")
