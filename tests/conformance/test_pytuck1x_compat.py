"""Pytuck 1.x code keeps working: its names, spellings and call forms."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

import pytuck
from pytuck import Column, Session, Storage, declarative_base, insert, select, update

ONE_X_NAMES = [
    "Storage",
    "Session",
    "declarative_base",
    "Column",
    "Relationship",
    "select",
    "insert",
    "update",
    "delete",
    "or_",
    "and_",
    "not_",
    "event",
    "Query",
    "Result",
    "CursorResult",
    "SyncOptions",
    "SyncResult",
    "PureBaseModel",
    "CRUDBaseModel",
    "BinaryExpression",
]

ONE_X_ERRORS = [
    "PytuckException",
    "TableNotFoundError",
    "RecordNotFoundError",
    "DuplicateKeyError",
    "ColumnNotFoundError",
    "ValidationError",
    "TypeConversionError",
    "ConfigurationError",
    "SchemaError",
    "QueryError",
    "TransactionError",
    "DatabaseConnectionError",
    "SerializationError",
    "EncryptionError",
    "MigrationError",
    "PytuckIndexError",
    "UnsupportedOperationError",
]


@pytest.mark.parametrize("name", ONE_X_NAMES + ONE_X_ERRORS)
def test_top_level_name_of_1x_imports(name: str) -> None:
    module = importlib.import_module("pytuck")
    assert getattr(module, name) is not None
    assert name in pytuck.__all__


def test_pytuck_exception_is_pytuck_error() -> None:
    assert pytuck.PytuckException is pytuck.PytuckError


@pytest.mark.parametrize("name", ONE_X_ERRORS)
def test_1x_errors_derive_from_the_root(name: str) -> None:
    assert issubclass(getattr(pytuck, name), pytuck.PytuckException)


def test_1x_error_carries_its_fields() -> None:
    error = pytuck.DuplicateKeyError("taken", table_name="users", pk=3)
    assert error.to_dict()["table_name"] == "users" and error.pk == 3


def test_1x_model_bases_are_the_model_bases(storage: Any) -> None:
    assert issubclass(declarative_base(storage), pytuck.PureBaseModel)
    assert issubclass(declarative_base(storage, crud=True), pytuck.CRUDBaseModel)


def test_storage_without_a_path_is_in_memory() -> None:
    storage = Storage(file_path=None, in_memory=True)
    assert storage.in_memory and storage.file_path is None
    storage.close()


def test_storage_with_no_arguments_is_in_memory() -> None:
    storage = Storage()
    assert storage.in_memory
    storage.close()


def test_engine_pytuck_names_the_default_file_engine(tmp_path: Path) -> None:
    if "binary" not in Storage.available_engines():
        pytest.skip("the binary file engine is not registered yet")
    storage = Storage(str(tmp_path / "db.pytuck"), engine="pytuck")
    assert storage.engine_name == "binary"
    storage.close()


def test_unknown_engine_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(pytuck.ConfigurationError, match="nosuch"):
        Storage(str(tmp_path / "db"), engine="nosuch")


def test_order_by_column_name_with_desc(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        found = session.query(User).filter(User.age != None).order_by("age", desc=True).all()  # noqa: E711
        stmt = select(User).where(User.age != None).order_by("age", desc=True)  # noqa: E711
        executed = session.execute(stmt).all()
    assert [u.age for u in found] == [70, 65, 31, 31, 18]
    assert [u.age for u in executed] == [70, 65, 31, 31, 18]


def test_repeated_order_by_sorts_by_each_in_turn(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        found = (
            session.query(User)
            .filter(User.age != None)  # noqa: E711
            .order_by("age")
            .order_by("name", desc=True)
            .all()
        )
    assert [u.name for u in found] == ["Dée", "Ñu", "Ann", "Eve", "Bob"]


def test_session_bulk_insert_returns_keys(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        keys = session.bulk_insert([User(name="a"), User(name="b"), User(name="c")])
        session.commit()
        assert len(keys) == 3 and len(set(keys)) == 3
        assert sorted(u.name for u in session.query(User).filter(User.id.in_(keys))) == [
            "a",
            "b",
            "c",
        ]


def test_session_bulk_update_writes_and_counts(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        users = session.query(User).filter(User.city == "Oslo").all()
        for user in users:
            user.score = 0.5
        assert session.bulk_update(users) == 2
        session.commit()
    with Session(storage) as session:
        assert session.query(User).filter(User.score == 0.5).count() == 2


def test_session_bulk_insert_of_mixed_models_is_refused(storage: Any, Base: Any, User: Any) -> None:
    class Pet(Base):
        __tablename__ = "pets"
        id = Column(int, primary_key=True)

    with Session(storage) as session:
        with pytest.raises(pytuck.QueryError):
            session.bulk_insert([User(name="a"), Pet()])


def test_rowcount_is_callable_as_in_1x(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        result = session.execute(update(User).where(User.city == "Oslo").values(city="X"))
        assert result.rowcount() == 2


def test_rowcount_is_an_int(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        result = session.execute(update(User).where(User.city == "Oslo").values(city="X"))
        assert result.rowcount == 2 and isinstance(result.rowcount, int)
        assert result.rowcount + 1 == 3


def test_insert_result_has_the_inserted_primary_key(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        result = session.execute(insert(User).values(name="Ann"))
        assert result.rowcount() == 1
        assert session.get(User, result.inserted_primary_key).name == "Ann"


def test_insert_values_list_as_in_1x(storage: Any, User: Any) -> None:
    with Session(storage) as session:
        result = session.execute(insert(User).values_list([{"name": "a"}, {"name": "b"}]))
        assert result.rowcount == 2


def test_select_result_one_first_and_all(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        result = session.execute(select(User).where(User.name == "Ann"))
        assert result.one().name == "Ann"
        assert session.execute(select(User).where(User.name == "Nobody")).first() is None
        assert len(session.execute(select(User)).all()) == 6


def test_query_constructed_by_session_counts(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as session:
        query = session.query(User)
        assert isinstance(query, pytuck.Query)
        assert query.filter(User.active == True).count() == 4  # noqa: E712


def test_autocommit_session_commits_each_add(storage: Any, User: Any) -> None:
    session = Session(storage, autocommit=True)
    session.add(User(name="Ann"))
    with Session(storage) as other:
        assert other.query(User).count() == 1
    session.close()
