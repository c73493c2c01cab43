"""What only the SQLite engine has: WAL, its connection pool, files, locks and errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pytuck import Column, Session, Storage, declarative_base, func, literal, select, update
from pytuck.errors import (
    ConfigurationError,
    ConflictError,
    CorruptDatabaseError,
    DatabaseConnectionError,
    DuplicateKeyError,
    ReadOnlyError,
    SchemaError,
)

UTC = dt.timezone.utc


def open_users(path: Path, **options: Any) -> tuple[Storage, Any]:
    storage = Storage(str(path), engine="sqlite", **options)
    base: Any = declarative_base(storage)

    class User(base):  # type: ignore[misc, valid-type]
        __tablename__ = "users"
        id = Column(int, primary_key=True)
        name = Column(str, index=True)
        email = Column(str, unique=True)
        age = Column(int, nullable=True)

    return storage, User


@pytest.fixture
def users(tmp_path: Path) -> Any:
    storage, User = open_users(tmp_path / "db.sqlite", timeout=0.2)
    with Session(storage) as session:
        session.add_all([User(name="Ann", email="ann@x", age=31), User(name="Bob", age=70)])
        session.commit()
    yield storage, User
    storage.close()


def test_the_database_runs_in_wal_mode(users: Any) -> None:
    storage, _ = users
    assert storage.execute_sql("PRAGMA journal_mode")[0][0] == "wal"


def test_two_sessions_in_one_thread_do_not_see_each_others_changes(users: Any) -> None:
    storage, User = users
    with Session(storage) as writer, Session(storage) as reader:
        writer.add(User(name="Cy"))
        writer.get(User, 1).age = 99
        writer.flush()
        assert reader.query(User).filter_by(name="Cy").count() == 0
        assert reader.get(User, 1).age == 31
        writer.commit()
    with Session(storage) as later:
        assert later.query(User).filter_by(name="Cy").count() == 1


def test_a_reader_is_not_blocked_by_a_writer(users: Any) -> None:
    # The writer holds SQLite's write lock (timeout=0.2): a blocked reader
    # would raise after 0.2 s; in WAL mode it reads the last commit at once.
    storage, User = users
    with Session(storage) as writer:
        writer.add(User(name="Cy"))
        writer.flush()
        with Session(storage) as reader:
            assert sorted(u.name for u in reader.query(User).all()) == ["Ann", "Bob"]
        writer.commit()


def test_a_second_writer_waits_then_conflicts(users: Any) -> None:
    storage, User = users
    with Session(storage) as first, Session(storage) as second:
        first.add(User(name="Cy"))
        first.flush()
        second.get(User, 2).age = 1
        with pytest.raises(ConflictError, match="users"):
            second.flush()
        second.rollback()
        first.commit()


def test_a_reopened_database_with_another_model_raises_schema_error(tmp_path: Path) -> None:
    storage, User = open_users(tmp_path / "db.sqlite")
    storage.close()
    reopened = Storage(str(tmp_path / "db.sqlite"), engine="sqlite")
    base: Any = declarative_base(reopened)
    with pytest.raises(SchemaError, match="'age' is stored as int, the model says str"):

        class User(base):  # type: ignore[misc, valid-type]
            __tablename__ = "users"
            id = Column(int, primary_key=True)
            name = Column(str, index=True)
            email = Column(str, unique=True)
            age = Column(str, nullable=True)

    reopened.close()


def test_the_stored_schema_keeps_types_that_share_sql_types(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    storage = Storage(str(path), engine="sqlite")
    base: Any = declarative_base(storage)

    class Thing(base):  # type: ignore[misc, valid-type]
        __tablename__ = "things"
        id = Column(int, primary_key=True)
        price = Column(Decimal)
        when = Column(dt.datetime)
        span = Column(dt.timedelta)

    row = dict(price=Decimal("1.50"), when=dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), span=dt.timedelta(days=-1, microseconds=3))
    with Session(storage) as session:
        session.add(Thing(**row))
        session.commit()
    storage.close()
    reopened = Storage(str(path), engine="sqlite")
    schema = reopened.engine.table_schema("things")
    assert schema is not None and schema.column("price").type is Decimal
    base = declarative_base(reopened)

    class Thing(base):  # type: ignore[misc, valid-type, no-redef]
        __tablename__ = "things"
        id = Column(int, primary_key=True)
        price = Column(Decimal)
        when = Column(dt.datetime)
        span = Column(dt.timedelta)

    with Session(reopened) as session:
        thing = session.get(Thing, 1)
        assert (thing.price, thing.when, thing.span) == (row["price"], row["when"], row["span"])
        assert str(thing.price) == "1.50"
    reopened.close()


def test_execute_sql_returns_rows_by_name_and_index_with_bound_parameters(users: Any) -> None:
    storage, _ = users
    rows = storage.execute_sql("SELECT name, age FROM users WHERE age > ? ORDER BY age", [30])
    assert [tuple(r) for r in rows] == [("Ann", 31), ("Bob", 70)]
    assert rows[1]["age"] == rows[1].age == rows[1][1] == 70


def test_execute_sql_that_writes_returns_no_rows(users: Any) -> None:
    storage, _ = users
    assert storage.execute_sql("UPDATE users SET age = age + 1") == []
    assert storage.execute_sql("SELECT sum(age) FROM users")[0][0] == 103


def test_a_duplicate_names_table_column_and_value(users: Any) -> None:
    storage, User = users
    with Session(storage) as session:
        session.add(User(name="Eve", email="ann@x"))
        with pytest.raises(DuplicateKeyError) as caught:
            session.commit()
        session.rollback()
    error = caught.value
    assert (error.table_name, error.column_name, error.details["value"]) == ("users", "email", "ann@x")
    assert "users.email: the value 'ann@x' is already taken (unique)" in str(error)


def test_a_duplicate_within_one_bulk_insert_is_named(users: Any) -> None:
    storage, User = users
    with Session(storage) as session:
        session.add_all([User(name=f"n{i}", email=f"{i}@x") for i in range(5)] + [User(name="z", email="3@x")])
        with pytest.raises(DuplicateKeyError, match="'3@x'"):
            session.commit()
        session.rollback()


def test_a_duplicate_after_fresh_rows_of_one_bulk_insert_is_named(users: Any) -> None:
    # The rows before the failing one are already in the table when the error
    # is translated: they must not be taken for the duplicate.
    storage, User = users
    with Session(storage) as session:
        session.add_all([User(name="p", email="p@x"), User(name="q", email="q@x"), User(name="r", email="ann@x")])
        with pytest.raises(DuplicateKeyError, match="'ann@x'"):
            session.commit()
        session.rollback()


def test_a_duplicate_from_updating_rows_is_named(users: Any) -> None:
    storage, User = users
    with Session(storage) as session:
        session.get(User, 2).email = "ann@x"
        with pytest.raises(DuplicateKeyError, match="'ann@x'"):
            session.commit()
        session.rollback()


def test_a_file_that_is_not_a_database_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my notes, not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(CorruptDatabaseError, match="notes.sqlite"):
        Storage(str(path), engine="sqlite")
    assert path.read_bytes() == before


def test_a_missing_folder_is_a_connection_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseConnectionError, match="nowhere"):
        Storage(str(tmp_path / "nowhere" / "db.sqlite"), engine="sqlite")


def test_memory_paths_and_unknown_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="in_memory"):
        Storage(":memory:", engine="sqlite")
    with pytest.raises(ConfigurationError, match="colour"):
        Storage(str(tmp_path / "db.sqlite"), engine="sqlite", colour="blue")


def test_read_only_storage_refuses_writes_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    storage, User = open_users(path)
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.commit()
    storage.close()
    reader, User = open_users(path, read_only=True)
    with Session(reader) as session:
        assert session.get(User, 1).name == "Ann"
        with pytest.raises(ReadOnlyError, match="read-only"):
            session.add(User(name="Bob"))
        transaction = reader.engine.begin()
        with pytest.raises(ReadOnlyError, match="users"):
            transaction.insert(User.__table__, [{"name": "Bob"}])
        transaction.rollback()
    with pytest.raises(ReadOnlyError):
        reader.execute_sql("DELETE FROM users")
    assert [tuple(r) for r in reader.execute_sql("SELECT name FROM users")] == [("Ann",)]
    reader.close()


# --- regression tests for differences the differential tests found -------------------------


def test_negative_zero_round_trips(tmp_path: Path) -> None:
    # REAL affinity stored -0.0 as the integer 0 and read it back as 0.0.
    storage = Storage(str(tmp_path / "db.sqlite"), engine="sqlite")
    base: Any = declarative_base(storage)

    class Number(base):  # type: ignore[misc, valid-type]
        __tablename__ = "numbers"
        id = Column(int, primary_key=True)
        value = Column(float)

    with Session(storage) as session:
        session.add_all([Number(value=-0.0), Number(value=float("-inf"))])
        session.commit()
    with Session(storage) as session:
        values = session.execute(select(Number.value).order_by(Number.id)).scalars().all()
    assert [repr(v) for v in values] == ["-0.0", "-inf"]
    storage.close()


@pytest.fixture
def mixed(tmp_path: Path) -> Any:
    """Decimals of several scales, naive and aware datetimes, on sqlite and memory."""
    rows = [
        dict(price=Decimal("1.50"), when=dt.datetime(2024, 1, 1, 12)),
        dict(price=Decimal("1.5"), when=dt.datetime(2024, 1, 1, 12, tzinfo=UTC)),
        dict(price=Decimal("10"), when=dt.datetime(2024, 1, 1, 11, tzinfo=UTC)),
        dict(price=Decimal("9.99"), when=dt.datetime(2024, 1, 1, 13)),
        dict(price=Decimal("0.1"), when=None),
    ]
    pairs = []
    for storage in (Storage(in_memory=True), Storage(str(tmp_path / "db.sqlite"), engine="sqlite")):
        base: Any = declarative_base(storage)

        class Item(base):  # type: ignore[misc, valid-type]
            __tablename__ = "items"
            id = Column(int, primary_key=True)
            price = Column(Decimal)
            when = Column(dt.datetime, nullable=True)
            ratio = Column(float, nullable=True)

        with Session(storage) as session:
            session.add_all(Item(**row, ratio=0.1) for row in rows)
            session.commit()
        pairs.append((storage, Item))
    yield pairs
    for storage, _ in pairs:
        storage.close()


def _both(mixed: Any, build: Any) -> list[list[tuple[Any, ...]]]:
    results = []
    for storage, model in mixed:
        with Session(storage) as session:
            results.append([tuple(r) for r in session.execute(build(model)).all()])
    return results


@pytest.mark.parametrize(
    "build",
    [
        lambda m: select(m.id).where(m.price > 9).order_by(m.id),
        lambda m: select(m.id).where(m.price == Decimal("1.500")).order_by(m.id),
        lambda m: select(m.id).where(m.price == 0.1).order_by(m.id),
        lambda m: select(m.id).where(m.price == m.ratio).order_by(m.id),
        lambda m: select(m.id).order_by(m.price.desc(), m.id),
        lambda m: select(func.sum(m.price), func.min(m.price), func.max(m.price)),
        lambda m: select((m.price * 3) // 2, m.price % Decimal("0.7")).order_by(m.id),
        lambda m: select(m.id).where(m.when == dt.datetime(2024, 1, 1, 12)).order_by(m.id),
        lambda m: select(m.id).where(m.when < dt.datetime(2024, 1, 1, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))).order_by(m.id),
        lambda m: select(func.count(m.when), func.min(m.when), func.max(m.when)),
        lambda m: select(m.when, func.count()).group_by(m.when).order_by(m.when, func.count()),
        lambda m: select(func.count(m.when, distinct=True)),
    ],
)
def test_decimals_and_mixed_datetimes_answer_as_the_memory_engine(mixed: Any, build: Any) -> None:
    oracle, sqlite = _both(mixed, build)
    assert sqlite == oracle


@pytest.fixture
def documents(tmp_path: Path) -> Any:
    """JSON documents equal in Python but spelled differently, on memory and sqlite."""
    values = [{"a": 1}, {"a": 1.0}, {"a": True}, {"a": 2}, None]
    pairs = []
    for storage in (Storage(in_memory=True), Storage(str(tmp_path / "db.sqlite"), engine="sqlite")):
        base: Any = declarative_base(storage)

        class Doc(base):  # type: ignore[misc, valid-type]
            __tablename__ = "docs"
            id = Column(int, primary_key=True)
            body = Column(dict, nullable=True)

        with Session(storage) as session:
            session.add_all(Doc(body=value) for value in values)
            session.commit()
        pairs.append((storage, Doc))
    yield pairs
    for storage, _ in pairs:
        storage.close()


@pytest.mark.parametrize(
    "build",
    [
        lambda m: select(m.id).where(m.body == {"a": 1}).order_by(m.id),
        lambda m: select(m.id).where(m.body != {"a": 1.0}).order_by(m.id),
        lambda m: select(m.id).where(m.body.in_([{"a": 2}, {"a": 1}])).order_by(m.id),
        lambda m: select(m.id).where(m.body.not_in([{"a": 2}, None])).order_by(m.id),
    ],
)
def test_json_documents_compare_as_python_does(documents: Any, build: Any) -> None:
    # Regression (differential test): {"a": 1} == {"a": 1.0} in Python, but their texts differ.
    oracle, sqlite = _both(documents, build)
    assert sqlite == oracle


@pytest.mark.parametrize(
    "build",
    [
        # Regression (differential test): the float literal was bound as a REAL
        # and compared with the Decimal's text, and SQLite orders every number
        # before every text.
        lambda m: select(func.count()).select_from(m).where(literal(8.25).between(0, Decimal("1.50"))),
        lambda m: select(func.count()).select_from(m).where(literal(1).in_([Decimal("1.0"), Decimal("2")])),
        lambda m: select(m.id).where(m.ratio.between(0, Decimal("0.1"))).order_by(m.id),
    ],
)
def test_number_literals_facing_decimals_compare_exactly(mixed: Any, build: Any) -> None:
    oracle, sqlite = _both(mixed, build)
    assert sqlite == oracle


def test_an_update_storing_decimals_and_ints_in_a_float_column_stores_floats(mixed: Any) -> None:
    # A float column has no affinity (see test_negative_zero_round_trips): the
    # UPDATE itself must convert, or the text of a Decimal would sort after every number.
    results = []
    for storage, model in mixed:
        with Session(storage) as session:
            session.execute(update(model).where(model.id <= 2).values(ratio=model.price))
            session.execute(update(model).where(model.id > 2).values(ratio=model.id * 2))
            session.commit()
            rows = session.execute(select(model.id, model.ratio).where(model.ratio < 7).order_by(model.ratio))
            results.append([tuple(r) for r in rows.all()])
    oracle, sqlite = results
    assert sqlite == oracle == [(1, 1.5), (2, 1.5), (3, 6.0)]
