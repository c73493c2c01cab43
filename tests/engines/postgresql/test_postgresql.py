"""What only the PostgreSQL engine has: schemas, COPY, its key counter, lock waits,
aborted transactions, raw SQL, and the value rules it implements in SQL.

The tests named ``test_regression_*`` keep examples the differential property
tests (tests/property/test_differential.py) found on this engine.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest

from pytuck import Column, Session, declarative_base, func, insert, literal, select
from pytuck.engines.sql import pg_bridge, postgresql
from pytuck.engines.sql.postgresql import _parse_key_detail
from pytuck.errors import ConflictError, DuplicateKeyError, ReadOnlyError, TransactionError

from .conftest import run_sql

UTC = dt.timezone.utc


def declare(storage: Any) -> Any:
    """The Item model on ``storage``: an integer key and one column per kind of value."""
    base: Any = declarative_base(storage)

    class Item(base):  # type: ignore[misc, valid-type]
        __tablename__ = "items"
        id = Column(int, primary_key=True)
        name = Column(str, unique=True, nullable=True)
        real = Column(float, nullable=True)
        money = Column(Decimal, nullable=True)
        moment = Column(dt.datetime, nullable=True)
        doc = Column(list, nullable=True)

    return Item


# --- schemas -------------------------------------------------------------------------------


def test_tables_live_in_the_chosen_schema(open_storage: Any, make_schema: Any, dsn: str) -> None:
    schema = make_schema()
    storage = open_storage(schema=schema)
    declare(storage)
    rows = run_sql(dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
    assert {row[0] for row in rows} == {"items", "_pytuck_tables"}


def test_two_schemas_keep_same_named_tables_apart(open_storage: Any) -> None:
    first, second = open_storage(), open_storage()
    first_item, second_item = declare(first), declare(second)
    with Session(first) as session:
        session.add(first_item(name="only in first"))
        session.commit()
    with Session(second) as session:
        assert session.query(second_item).count() == 0


def test_reopening_the_schema_reads_its_tables(open_storage: Any, make_schema: Any) -> None:
    schema = make_schema()
    storage = open_storage(schema=schema)
    item = declare(storage)
    with Session(storage) as session:
        session.add(item(name="kept"))
        session.commit()
    again = open_storage(schema=schema)
    assert again.table_names() == ["items"]
    with Session(again) as session:
        assert [i.name for i in session.query(declare(again))] == ["kept"]


def test_read_only_storage_refuses_writes(open_storage: Any, make_schema: Any) -> None:
    schema = make_schema()
    item = declare(open_storage(schema=schema))
    reader = open_storage(schema=schema, read_only=True)
    with Session(reader) as session, pytest.raises(ReadOnlyError):
        session.add(declare(reader)(name="no"))
        session.flush()
    with pytest.raises(ReadOnlyError):
        reader.execute_sql('INSERT INTO "items" (id) VALUES (99)')
    assert item is not None


# --- sessions and threads --------------------------------------------------------------------


def test_two_sessions_in_one_thread_do_not_see_each_other(open_storage: Any) -> None:
    storage = open_storage()
    item = declare(storage)
    with Session(storage) as writer, Session(storage) as reader:
        writer.add(item(name="pending"))
        writer.flush()
        assert reader.query(item).count() == 0
        writer.commit()
        reader.commit()
        assert reader.query(item).count() == 1


def test_sessions_in_threads_share_a_bounded_pool(open_storage: Any) -> None:
    storage = open_storage(max_size=2, acquire_timeout=30)
    item = declare(storage)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for number in range(10):
                with Session(storage) as session:
                    session.add(item(name=f"{index}-{number}"))
                    session.commit()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert storage.engine.pool.loops.size <= 2
    with Session(storage) as session:
        assert session.query(item).count() == 40


def test_write_waiting_on_a_row_lock_gives_up_with_conflict(open_storage: Any) -> None:
    # Two sessions of one thread writing one row would wait for each other for
    # ever: lock_timeout turns the wait into ConflictError.
    storage = open_storage(lock_timeout=0.2)
    item = declare(storage)
    with Session(storage) as session:
        session.add(item(id=1, name="a"))
        session.commit()
    with Session(storage) as first, Session(storage) as second:
        first.get(item, 1).name = "first"
        first.flush()
        second.get(item, 1).name = "second"
        with pytest.raises(ConflictError, match="items"):
            second.flush()
        second.rollback()
        first.commit()


def test_commit_after_a_failed_write_says_nothing_was_written(open_storage: Any) -> None:
    storage = open_storage()
    engine = storage.engine
    declare(storage)
    transaction = engine.begin()
    transaction.connection.run('INSERT INTO "items" (id, name) VALUES (1, \'a\')')
    with pytest.raises(Exception):  # noqa: B017 - any driver error aborts the transaction
        transaction.connection.run('INSERT INTO "items" (id, name) VALUES (1, \'a\')')
    with pytest.raises(TransactionError, match="nothing of it was written"):
        transaction.commit()
    transaction.rollback()


# --- keys and bulk insert ----------------------------------------------------------------------


def test_bulk_insert_goes_through_copy_and_keys_come_back(open_storage: Any, monkeypatch: Any) -> None:
    storage = open_storage()
    item = declare(storage)
    copies: list[int] = []
    original = pg_bridge.PostgresqlConnection.copy

    def spy(self: Any, table: str, schema: Any, columns: Any, rows: Any) -> None:
        copies.append(len(rows))
        original(self, table, schema, columns, rows)

    monkeypatch.setattr(pg_bridge.PostgresqlConnection, "copy", spy)
    rows = [{"name": f"n{i}", "money": Decimal("1.50"), "moment": dt.datetime(2024, 1, 1, tzinfo=UTC)}
            for i in range(postgresql.COPY_MIN_ROWS * 2)]
    with Session(storage) as session:
        keys = session.execute(insert(item).values(rows)).inserted_primary_keys
        session.commit()
    assert copies == [len(rows)]
    assert keys == list(range(1, len(rows) + 1))
    with Session(storage) as session:
        loaded = session.query(item).order_by(item.id).all()
    assert [i.name for i in loaded] == [r["name"] for r in rows]
    assert loaded[0].money == Decimal("1.50") and str(loaded[0].money) == "1.50"
    assert loaded[0].moment == dt.datetime(2024, 1, 1, tzinfo=UTC)


def test_explicit_keys_in_a_copy_move_the_counter_past_them(open_storage: Any) -> None:
    storage = open_storage()
    item = declare(storage)
    rows = [{"id": 1000 + i} for i in range(postgresql.COPY_MIN_ROWS)]
    with Session(storage) as session:
        session.execute(insert(item).values(rows))
        session.commit()
        after = item()
        session.add(after)
        session.commit()
    assert after.id == 1000 + postgresql.COPY_MIN_ROWS


def test_keys_of_a_rolled_back_insert_are_not_reused_by_another_storage(
    open_storage: Any, make_schema: Any
) -> None:
    schema = make_schema()
    first = open_storage(schema=schema)
    item = declare(first)
    with Session(first) as session:
        dropped = item()
        session.add(dropped)
        session.flush()
        taken = dropped.id
        session.rollback()
    second = open_storage(schema=schema)
    with Session(second) as session:
        kept = declare(second)()
        session.add(kept)
        session.commit()
    assert kept.id > taken


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "detail, expected",
    [
        ("Key (email)=(bob@x.io) already exists.", ("email", "bob@x.io")),
        ('Key ("my ""odd"" col")=(a)=(b) already exists.', ('my "odd" col', "a)=(b")),
        ("Key (id)=(7) already exists.", ("id", "7")),
        ("something else", (None, None)),
        (None, (None, None)),
    ],
)
def test_unique_violation_detail_names_column_and_value(detail: Any, expected: Any) -> None:
    assert _parse_key_detail(detail) == expected


def test_duplicate_in_an_oddly_named_column_names_it(open_storage: Any) -> None:
    storage = open_storage()
    base: Any = declarative_base(storage)

    class Odd(base):  # type: ignore[misc, valid-type]
        __tablename__ = 'odd "table"'
        id = Column(int, primary_key=True)
        code = Column(str, unique=True, name='my "odd" col')

    with Session(storage) as session:
        session.add(Odd(code="x"))
        session.commit()
        session.add(Odd(code="x"))
        with pytest.raises(DuplicateKeyError) as caught:
            session.flush()
        session.rollback()
    assert caught.value.column_name == 'my "odd" col'
    assert caught.value.details["value"] == "x"


def test_raw_sql_runs_several_commands_and_reads_by_name(open_storage: Any) -> None:
    storage = open_storage()
    storage.execute_sql('CREATE TABLE "raw" (n BIGINT); INSERT INTO "raw" VALUES (1), (2)')
    rows = storage.execute_sql('SELECT sum(n) AS total FROM "raw" WHERE n > $1', [0])
    assert rows[0]["total"] == 3 and rows[0][0] == 3


# --- value rules kept in SQL (regressions of the differential tests) --------------------------


def _values(storage: Any, item: Any, statement: Any) -> list[Any]:
    with Session(storage) as session:
        return list(session.execute(statement).scalars().all())


def test_regression_decimal_keeps_exponent_and_negative_zero(open_storage: Any) -> None:
    storage = open_storage()
    item = declare(storage)
    values = [Decimal("1E+3"), Decimal("-0"), Decimal("0.00"), Decimal("1.5E-7")]
    with Session(storage) as session:
        session.add_all(item(money=value) for value in values)
        session.commit()
    got = _values(storage, item, select(item.money).order_by(item.id))
    assert [str(v) for v in got] == [str(v) for v in values]
    # Equal values compare and group as Python's == says, whatever their form.
    assert _values(storage, item, select(item.id).where(item.money == 1000)) == [1]
    assert _values(storage, item, select(func.count(item.money, distinct=True))) == [3]


def test_regression_json_keeps_float_kinds(open_storage: Any) -> None:
    storage = open_storage()
    item = declare(storage)
    document = [1e16, -0.0, 1.0, 1, 5e-324, 1.5e300]
    with Session(storage) as session:
        session.add(item(doc=document))
        session.commit()
    (got,) = _values(storage, item, select(item.doc))
    assert [(type(v), repr(v)) for v in got] == [(type(v), repr(v)) for v in document]


@pytest.mark.parametrize(
    "real, money, expected",
    [
        (0.1, Decimal("0.10"), False),  # 0.1 is 0.1000000000000000055... exactly
        (0.25, Decimal("0.250"), True),
        (1 / 3, Decimal("0.33"), False),
    ],
)
def test_regression_float_and_decimal_compare_exactly(
    open_storage: Any, real: float, money: Decimal, expected: bool
) -> None:
    storage = open_storage()
    item = declare(storage)
    with Session(storage) as session:
        session.add(item(real=real, money=money))
        session.commit()
    matched = _values(storage, item, select(item.id).where(item.real == item.money))
    assert matched == ([1] if expected else [])
    assert real == money if expected else real != money


def test_regression_int_and_float_compare_exactly(open_storage: Any) -> None:
    storage = open_storage()
    base: Any = declarative_base(storage)

    class Pair(base):  # type: ignore[misc, valid-type]
        __tablename__ = "pairs"
        id = Column(int, primary_key=True)
        whole = Column(int)
        real = Column(float)

    with Session(storage) as session:
        session.add(Pair(whole=2**53 + 1, real=2.0**53))
        session.commit()
        assert session.execute(select(Pair.id).where(Pair.whole > Pair.real)).scalars().all() == [1]
        assert session.execute(select(Pair.id).where(Pair.whole == Pair.real)).scalars().all() == []


@pytest.mark.parametrize("a, b", [(1.0, 0.1), (-1.0, 0.1), (0.0, -2.0), (-0.0, 2.0), (7.5, -2.0), (-3.0, 1 / 3)])
def test_regression_float_floor_division_and_modulo_follow_python(
    open_storage: Any, a: float, b: float
) -> None:
    storage = open_storage()
    item = declare(storage)
    with Session(storage) as session:
        session.add(item(real=a))
        session.commit()
        floor, rest = session.execute(select(item.real // b, item.real % b)).one()
    assert (repr(floor), repr(rest)) == (repr(a // b), repr(a % b))


def test_regression_literal_only_arithmetic_is_typed(open_storage: Any) -> None:
    storage = open_storage()
    item = declare(storage)
    with Session(storage) as session:
        session.add(item(name="x"))
        session.commit()
        got = session.execute(select(item.id).where(literal(3) + literal(4) == literal(7))).scalars().all()
    assert got == [1]


def test_regression_min_and_max_of_types_postgresql_lacks(open_storage: Any) -> None:
    storage = open_storage()
    base: Any = declarative_base(storage)

    class Odd(base):  # type: ignore[misc, valid-type]
        __tablename__ = "odd_types"
        id = Column(int, primary_key=True)
        flag = Column(bool)
        ident = Column(uuid.UUID)
        blob = Column(bytes)

    with Session(storage) as session:
        session.add_all([
            Odd(flag=True, ident=uuid.UUID(int=5), blob=b"a\x00"),
            Odd(flag=False, ident=uuid.UUID(int=2**127), blob=b"a"),
        ])
        session.commit()
        row = session.execute(select(
            func.min(Odd.flag), func.max(Odd.flag), func.min(Odd.ident), func.max(Odd.ident),
            func.min(Odd.blob), func.max(Odd.blob),
        )).one()
    assert tuple(row) == (False, True, uuid.UUID(int=5), uuid.UUID(int=2**127), b"a", b"a\x00")
    assert type(row[2]) is uuid.UUID


def test_regression_json_equality_follows_python(open_storage: Any) -> None:
    # Python: [1] == [1.0] == [True]; grouping keeps the three apart (as text).
    storage = open_storage()
    item = declare(storage)
    with Session(storage) as session:
        session.add_all([item(doc=[1]), item(doc=[1.0]), item(doc=[True]), item(doc=[2])])
        session.commit()
        equal = session.execute(select(item.id).where(item.doc == [1]).order_by(item.id)).scalars().all()
        within = session.execute(select(item.id).where(item.doc.in_([[False], [2]]))).scalars().all()
        groups = session.execute(select(func.count(item.doc, distinct=True))).scalar()
    assert equal == [1, 2, 3]
    assert within == [4]
    assert groups == 4
