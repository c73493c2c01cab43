"""On every SQL engine: hostile identifiers work and hostile values are stored as data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytuck import Column, Session, Storage, declarative_base, select
from tests.conformance.conftest import ENGINES, StorageFactory
from tests.servers import require_server

SQL_ENGINES = [name for name in ENGINES if name in ("sqlite", "duckdb", "postgresql")]

HOSTILE = "'; DROP TABLE users; --"


@pytest.fixture(params=SQL_ENGINES)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    require_server(str(request.param))
    factory = StorageFactory(str(request.param), tmp_path)
    try:
        yield factory()
    finally:
        factory.close_all()


@pytest.mark.parametrize(
    "table",
    ["order", 'we"ird table', "Ünïcødé tåble", "select * from", "x'y"],
)
def test_hostile_table_and_column_names_work(storage: Storage, table: str) -> None:
    base: Any = declarative_base(storage)

    class Odd(base):  # type: ignore[misc, valid-type]
        __tablename__ = table
        id = Column(int, primary_key=True, name="group")
        text = Column(str, name='va"lue; --', index=True)
        number = Column(int, name="Größe", nullable=True, unique=True)

    with Session(storage) as session:
        session.add_all([Odd(text="a", number=1), Odd(text="b", number=2)])
        session.commit()
        rows = session.execute(
            select(Odd.text, Odd.number).where(Odd.number >= 1).order_by(Odd.text.desc())
        ).all()
        assert [tuple(r) for r in rows] == [("b", 2), ("a", 1)]
        assert session.get(Odd, 1).text == "a"
    assert table in storage.table_names()


def test_a_hostile_value_is_stored_as_data(storage: Storage) -> None:
    base: Any = declarative_base(storage)

    class User(base):  # type: ignore[misc, valid-type]
        __tablename__ = "users"
        id = Column(int, primary_key=True)
        name = Column(str)

    with Session(storage) as session:
        session.add(User(name=HOSTILE))
        session.commit()
        found = session.query(User).filter(User.name == HOSTILE).one()
        assert found.name == HOSTILE
        assert session.query(User).filter(User.name.contains("DROP TABLE")).count() == 1
    assert "users" in storage.table_names()


def test_execute_sql_rows_read_by_name_and_index(storage: Storage) -> None:
    base: Any = declarative_base(storage)

    class User(base):  # type: ignore[misc, valid-type]
        __tablename__ = "users"
        id = Column(int, primary_key=True)
        name = Column(str)

    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.commit()
    (row,) = storage.execute_sql('SELECT "name", "id" FROM "users"')
    assert isinstance(row, tuple)
    assert row[0] == row["name"] == row.name == "Ann"
    assert row[1] == row["id"] == 1
