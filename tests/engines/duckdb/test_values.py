"""How DuckDB stores the contract's types: Decimal keys, datetime kinds, JSON, schemas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytuck import (
    Column,
    CorruptDatabaseError,
    ReadOnlyError,
    SchemaError,
    Session,
    Storage,
    declarative_base,
    func,
    select,
)
from pytuck.engines.sql.duckdb import decimal_from_key, decimal_key

UTC = dt.timezone.utc

decimals = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=40),
    st.integers(-60, 60),
)


@given(decimals, decimals)
def test_decimal_keys_order_and_equal_as_the_values_do(a: Decimal, b: Decimal) -> None:
    assert (decimal_key(a) < decimal_key(b)) == (a < b)
    assert (decimal_key(a) == decimal_key(b)) == (a == b)


@given(decimals)
def test_a_decimal_key_reads_back_as_an_equal_value(value: Decimal) -> None:
    assert decimal_from_key(decimal_key(value)) == value


def test_infinities_sort_around_every_decimal() -> None:
    keys = [decimal_key(Decimal(text)) for text in ["-Infinity", "-1E+99", "0", "1E+99", "Infinity"]]
    assert keys == sorted(keys)


def declare_ledger(storage: Storage) -> Any:
    """Entries with a Decimal amount and a datetime stamp."""
    base: Any = declarative_base(storage)

    class Entry(base):  # type: ignore[misc, valid-type]
        __tablename__ = "entries"
        id = Column(int, primary_key=True)
        amount = Column(Decimal, index=True)
        stamp = Column(dt.datetime)
        doc = Column(dict)

    return Entry


def test_decimals_keep_their_scale_and_compare_by_value(storage: Storage) -> None:
    entry = declare_ledger(storage)
    with Session(storage) as session:
        session.add_all([entry(amount=Decimal("1.50")), entry(amount=Decimal("1.5")), entry(amount=Decimal("-0.001"))])
        session.commit()
        amounts = session.execute(select(entry.amount).order_by(entry.id)).scalars().all()
        assert [str(a) for a in amounts] == ["1.50", "1.5", "-0.001"]
        assert session.execute(select(entry.id).where(entry.amount == Decimal("1.500"))).scalars().all() == [1, 2]
        groups = session.execute(select(entry.amount, func.count()).group_by(entry.amount).order_by(entry.amount)).all()
        assert [(a, n) for a, n in groups] == [(Decimal("-0.001"), 1), (Decimal("1.5"), 2)]
        assert len(session.execute(select(entry.amount).distinct()).all()) == 2
        assert str(session.execute(select(func.max(entry.amount))).scalar()) in ("1.50", "1.5")
        assert str(session.execute(select(func.sum(entry.amount))).scalar()) == "2.999"


def test_decimal_compared_with_a_float_is_exact(storage: Storage) -> None:
    entry = declare_ledger(storage)
    with Session(storage) as session:
        session.add(entry(amount=Decimal("0.1")))
        session.commit()
        # The float 0.1 is 0.1000000000000000055...: not equal, and larger.
        assert session.execute(select(func.count()).where(entry.amount == 0.1)).scalar() == 0
        assert session.execute(select(func.count()).where(entry.amount < 0.1)).scalar() == 1
        assert session.execute(select(func.count()).where(entry.amount < float("inf"))).scalar() == 1


def test_naive_and_aware_datetimes_in_one_column_keep_their_kind(storage: Storage) -> None:
    entry = declare_ledger(storage)
    naive = dt.datetime(2024, 3, 1, 12)
    aware = dt.datetime(2024, 3, 1, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with Session(storage) as session:
        session.add_all([entry(stamp=naive), entry(stamp=aware)])
        session.commit()
        stamps = session.execute(select(entry.stamp).order_by(entry.id)).scalars().all()
        assert stamps[0] == naive and stamps[0].tzinfo is None
        assert stamps[1] == aware and stamps[1].utcoffset() == dt.timedelta(0)
        # Both name 12:00 on the UTC clock, as the memory engine compares them.
        later = dt.datetime(2024, 3, 1, 11, 30, tzinfo=UTC)
        assert session.execute(select(func.count()).where(entry.stamp > later)).scalar() == 2


def test_documents_equal_as_python_compares_them(storage: Storage) -> None:
    entry = declare_ledger(storage)
    with Session(storage) as session:
        session.add_all([entry(doc={"a": 1}), entry(doc={"a": 1.0}), entry(doc={"a": 1.5})])
        session.commit()
        found = session.execute(select(entry.id).where(entry.doc == {"a": 1})).scalars().all()
        assert sorted(found) == [1, 2]
        groups = session.execute(select(entry.doc, func.count()).group_by(entry.doc)).all()
        assert len(groups) == 3  # grouping keeps 1 and 1.0 apart, as the memory engine does


def test_reopening_reads_the_stored_schema(path: str) -> None:
    storage = Storage(path, engine="duckdb")
    entry = declare_ledger(storage)
    with Session(storage) as session:
        session.add(entry(amount=Decimal("2.50"), stamp=dt.datetime(2000, 1, 1, tzinfo=UTC)))
        session.commit()
    stored = storage.engine.table_schema("entries")
    storage.close()
    reopened = Storage(path, engine="duckdb")
    try:
        assert reopened.engine.table_schema("entries") == stored
        entry = declare_ledger(reopened)
        with Session(reopened) as session:
            row = session.get(entry, 1)
            assert str(row.amount) == "2.50" and row.stamp.tzinfo is not None
        other: Any = declarative_base(reopened)
        with pytest.raises(SchemaError, match="amount"):

            class Entry(other):  # type: ignore[misc, valid-type]
                __tablename__ = "entries"
                id = Column(int, primary_key=True)
                amount = Column(float)
    finally:
        reopened.close()


def test_read_only_storage_refuses_writes(path: str) -> None:
    storage = Storage(path, engine="duckdb")
    declare_ledger(storage)
    storage.close()
    reader = Storage(path, engine="duckdb", read_only=True)
    try:
        entry = declare_ledger(reader)
        with Session(reader) as session:
            assert session.query(entry).count() == 0
        transaction = reader.engine.begin()
        try:
            with pytest.raises(ReadOnlyError, match="read-only"):
                transaction.insert(entry.__table__, [{"amount": Decimal(1)}])
        finally:
            transaction.rollback()
    finally:
        reader.close()


def test_a_file_that_is_not_a_duckdb_database_is_left_untouched(path: str) -> None:
    content = b"not a database at all" * 200
    with open(path, "wb") as handle:
        handle.write(content)
    with pytest.raises(CorruptDatabaseError, match="data.duckdb"):
        Storage(path, engine="duckdb")
    with open(path, "rb") as handle:
        assert handle.read() == content


def test_raw_sql_rows_read_by_name_and_index(storage: Storage) -> None:
    storage.execute_sql('CREATE TABLE "raw table" (n BIGINT, "the name" VARCHAR)')
    assert storage.execute_sql('INSERT INTO "raw table" VALUES (?, ?)', [1, "'; DROP TABLE x; --"]) == []
    rows = storage.execute_sql('SELECT n, "the name" FROM "raw table" WHERE n = ?', [1])
    assert rows[0][1] == rows[0]["the name"] == "'; DROP TABLE x; --"


def test_hostile_names_on_struct_columns_with_indexes(storage: Storage) -> None:
    base: Any = declarative_base(storage)

    class Odd(base):  # type: ignore[misc, valid-type]
        __tablename__ = 'select "from"; --'
        id = Column(Decimal, primary_key=True, name="ключ key")
        when = Column(dt.datetime, unique=True, name='wh"en')
        amount = Column(Decimal, index=True, name="order")

    with Session(storage) as session:
        session.add(Odd(id=Decimal("1.0"), when=dt.datetime(2024, 1, 1), amount=Decimal("2")))
        session.commit()
        found = session.execute(
            select(Odd.id).where(Odd.amount == Decimal("2.00"), Odd.when < dt.datetime(2025, 1, 1))
        ).scalars().all()
        assert [str(k) for k in found] == ["1.0"]
        assert session.get(Odd, Decimal("1")) is not None
    assert 'select "from"; --' in storage.table_names()
