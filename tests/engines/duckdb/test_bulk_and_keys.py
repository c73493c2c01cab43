"""The Arrow bulk path and the assigned integer keys of the DuckDB engine."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from pytuck import Column, Session, Storage, declarative_base, delete, insert, select
from pytuck.engines.sql import duckdb as duck
from pytuck.engines.sql.duckdb.dialect import _VALUES_ROWS

from .conftest import declare_account


def declare_sample(storage: Storage) -> Any:
    """One column of each type the Arrow path converts."""
    base: Any = declarative_base(storage)

    class Sample(base):  # type: ignore[misc, valid-type]
        __tablename__ = "samples"
        id = Column(int, primary_key=True)
        flag = Column(bool)
        real = Column(float)
        text = Column(str, index=True)
        blob = Column(bytes)
        moment = Column(dt.datetime)
        day = Column(dt.date)
        clock = Column(dt.time)
        span = Column(dt.timedelta)
        money = Column(Decimal)
        ident = Column(uuid.UUID, unique=True)
        items = Column(list)

    return Sample


def sample_row(n: int) -> dict[str, Any]:
    return {
        "flag": n % 2 == 0,
        "real": n / 4,
        "text": f"t{n} é",
        "blob": bytes([n % 256]),
        "moment": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=n),
        "day": dt.date(2024, 1, 1) + dt.timedelta(days=n % 300),
        "clock": dt.time(n % 24, 0, 0, n % 1000),
        "span": dt.timedelta(microseconds=-n),
        "money": Decimal(n) / 100,
        "ident": uuid.UUID(int=n),
        "items": [n, {"k": str(n)}],
    }


@pytest.mark.parametrize("count", [3, 400])
def test_rows_inserted_in_bulk_read_back_exactly(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    sample = declare_sample(storage)
    relations: list[int] = []
    original = duck.DuckdbConnection.insert_relation

    def counting(self: Any, sql: str, relation: Any, table: Any) -> None:
        relations.append(relation.num_rows)
        original(self, sql, relation, table)

    monkeypatch.setattr(duck.DuckdbConnection, "insert_relation", counting)
    rows = [sample_row(n) for n in range(count)]
    with Session(storage) as session:
        keys = session.execute(insert(sample).values(rows)).inserted_primary_keys
        session.commit()
    # Few rows go in as one multi-row VALUES statement, many as one Arrow table.
    assert relations == ([] if count <= _VALUES_ROWS else [count])
    assert keys == list(range(1, count + 1))
    names = list(rows[0])
    with Session(storage) as session:
        got = session.execute(select(*(getattr(sample, n) for n in names)).order_by(sample.id)).all()
    for row, expected in zip(got, rows):
        for name, value in zip(names, row):
            assert value == expected[name] and type(value) is type(expected[name]), name
        assert str(row[names.index("money")]) == str(expected["money"])


def test_keys_follow_explicit_ones_and_survive_deleting_the_highest(path: str) -> None:
    storage = Storage(path, engine="duckdb")
    account = declare_account(storage)
    with Session(storage) as session:
        session.add_all([account(), account(id=10), account()])
        session.commit()
        assert sorted(a.id for a in session.query(account)) == [1, 10, 11]
        session.execute(delete(account).where(account.id >= 10))
        session.commit()
    storage.close()
    reopened = Storage(path, engine="duckdb")
    try:
        account = declare_account(reopened)
        with Session(reopened) as session:
            fresh = account()
            session.add(fresh)
            session.commit()
            assert fresh.id == 12
    finally:
        reopened.close()


def test_dropping_a_table_starts_its_keys_afresh(storage: Storage) -> None:
    account = declare_account(storage)
    with Session(storage) as session:
        session.add_all([account(), account()])
        session.commit()
    storage.drop_table("accounts")
    account = declare_account(storage)
    with Session(storage) as session:
        fresh = account()
        session.add(fresh)
        session.commit()
        assert fresh.id == 1


@pytest.mark.parametrize(
    "key_type, keys",
    [
        (Decimal, [Decimal("1.50"), Decimal("2")]),
        (dt.datetime, [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)]),
        (uuid.UUID, [uuid.UUID(int=1), uuid.UUID(int=2**128 - 1)]),
    ],
)
def test_rows_keyed_by_struct_and_uuid_values_update_and_delete(
    storage: Storage, key_type: type, keys: list[Any]
) -> None:
    base: Any = declarative_base(storage)

    class Keyed(base):  # type: ignore[misc, valid-type]
        __tablename__ = "keyed"
        id = Column(key_type, primary_key=True)
        value = Column(int)

    with Session(storage) as session:
        session.add_all(Keyed(id=key, value=n) for n, key in enumerate(keys))
        session.commit()
        for row in session.query(Keyed):
            row.value += 10  # one UPDATE ... FROM (VALUES ...) for both rows
        session.commit()
        session.delete(session.get(Keyed, keys[0]))
        session.commit()
    with Session(storage) as session:
        left = [(row.id, row.value) for row in session.query(Keyed)]
    assert left == [(keys[1], 11)]
    assert str(left[0][0]) == str(keys[1])
