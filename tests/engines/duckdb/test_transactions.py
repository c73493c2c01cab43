"""DuckDB transactions: isolation, parallel readers, lost races, savepoints by replay."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pytuck import (
    ConflictError,
    DuplicateKeyError,
    QueryError,
    Session,
    Storage,
    func,
    literal,
    select,
    update,
)
from pytuck.engines.sql.duckdb import DuckdbConnection

from .conftest import declare_account


def balances(storage: Storage, model: Any) -> dict[int, int]:
    """Committed balances by key, as a fresh session sees them."""
    with Session(storage) as session:
        return {a.id: a.balance for a in session.query(model)}


def test_two_sessions_in_one_thread_use_two_connections(storage: Storage, Account: Any) -> None:
    with Session(storage) as writer, Session(storage) as reader:
        writer.add(Account(email="a@x", balance=5))
        writer.flush()
        assert reader.query(Account).count() == 0
        first = writer._transaction()
        second = reader._transaction()
        assert isinstance(first.connection, DuckdbConnection)
        assert first.connection is not second.connection
        writer.commit()
        reader.commit()
        assert reader.query(Account).count() == 1


def test_reads_from_several_threads_run_on_their_own_connections(
    storage: Storage, Account: Any
) -> None:
    with Session(storage) as session:
        session.add_all(Account(email=f"{n}@x", balance=n) for n in range(200))
        session.commit()
    barrier = threading.Barrier(4, timeout=30)
    totals: list[int] = []
    connections: set[int] = set()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            with Session(storage) as session:
                barrier.wait()
                connections.add(id(session._transaction().connection))
                for _ in range(5):
                    totals.append(session.execute(select(func.sum(Account.balance))).scalar())
                barrier.wait()  # every reader holds its connection at once
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert totals == [sum(range(200))] * 20
    assert len(connections) == 4


def test_update_of_a_row_updated_meanwhile_is_a_conflict(storage: Storage, Account: Any) -> None:
    with Session(storage) as session:
        session.add(Account(id=1, email="a@x", balance=10))
    with Session(storage) as slow:
        account = slow.get(Account, 1)
        with Session(storage) as fast:
            fast.get(Account, 1).balance = 20
        account.balance = 11
        with pytest.raises(ConflictError, match="accounts"):
            slow.commit()
        slow.rollback()
    assert balances(storage, Account) == {1: 20}


def test_delete_of_a_row_updated_meanwhile_is_a_conflict(storage: Storage, Account: Any) -> None:
    # DuckDB itself lets this delete pass; the ledger refuses it.
    with Session(storage) as session:
        session.add(Account(id=1, email="a@x", balance=10))
    with Session(storage) as slow:
        account = slow.get(Account, 1)
        with Session(storage) as fast:
            fast.execute(update(Account).where(Account.id == 1).values(balance=20))
        slow.delete(account)
        with pytest.raises(ConflictError):
            slow.flush()
        slow.rollback()
    assert balances(storage, Account) == {1: 20}


def test_update_statement_over_a_row_deleted_meanwhile_is_a_conflict(
    storage: Storage, Account: Any
) -> None:
    # DuckDB reports the row as updated (its snapshot still has it); the ledger refuses it.
    with Session(storage) as session:
        session.add_all([Account(id=1, email="a@x", balance=10), Account(id=2, email="b@x")])
    with Session(storage) as slow:
        slow.get(Account, 2)
        with Session(storage) as fast:
            fast.delete(fast.get(Account, 1))
        with pytest.raises(ConflictError):
            slow.execute(update(Account).values(balance=Account.balance + 1))
        # The refused statement left nothing behind: the session can go on.
        assert slow.get(Account, 2).balance == 0
        slow.rollback()
    assert balances(storage, Account) == {2: 0}


def test_a_transaction_that_did_not_overlap_is_not_a_conflict(storage: Storage, Account: Any) -> None:
    with Session(storage) as session:
        session.add(Account(id=1, email="a@x", balance=10))
    with Session(storage) as first:
        first.get(Account, 1).balance = 20
    with Session(storage) as second:
        second.get(Account, 1).balance = 30
    assert balances(storage, Account) == {1: 30}


def test_duplicate_committed_first_by_another_transaction_names_the_value(
    storage: Storage, Account: Any
) -> None:
    # Both inserts succeed as statements; DuckDB refuses the second commit.
    first, second = Session(storage), Session(storage)
    try:
        first.add(Account(email="same@x"))
        first.flush()
        second.add(Account(email="same@x"))
        second.flush()
        first.commit()
        with pytest.raises(DuplicateKeyError) as raised:
            second.commit()
        error = raised.value
        assert (error.table_name, error.column_name, error.details["value"]) == (
            "accounts",
            "email",
            "same@x",
        )
        assert str(error).startswith("accounts.email: the value 'same@x' is already taken")
        second.rollback()
    finally:
        first.close()
        second.close()
    with Session(storage) as session:
        assert session.query(Account).count() == 1


def test_failed_statement_leaves_the_transaction_usable(storage: Storage, Account: Any) -> None:
    # DuckDB aborts a transaction on any error; the connection replays its writes.
    with Session(storage) as session:
        session.add(Account(email="kept@x", balance=2**62))
        session.flush()
        with pytest.raises(QueryError):
            session.execute(select(Account.balance * literal(4))).all()  # int64 overflow
        session.add(Account(email="later@x", balance=1))
        session.commit()
    assert sorted(balances(storage, Account).values()) == [1, 2**62]


def test_savepoint_rollback_replays_the_writes_before_it(storage: Storage, Account: Any) -> None:
    with Session(storage) as session:
        session.add(Account(id=1, email="a@x", balance=1))
        session.flush()
        session.execute(update(Account).values(balance=Account.balance + 10))
        with pytest.raises(RuntimeError):
            with session.begin_nested():
                session.add(Account(id=2, email="b@x"))
                session.get(Account, 1).balance = 99
                session.flush()
                raise RuntimeError
        assert session.get(Account, 1).balance == 11
        assert session.get(Account, 2) is None
        session.commit()
    assert balances(storage, Account) == {1: 11}


def test_row_deleted_and_inserted_again_in_one_transaction(storage: Storage, Account: Any) -> None:
    # Older DuckDB versions refused these as duplicate keys (over-eager index checks).
    with Session(storage) as session:
        session.add_all([Account(id=1, email="a@x"), Account(id=2, email="b@x")])
    with Session(storage) as session:
        session.delete(session.get(Account, 1))
        session.flush()
        session.add(Account(id=1, email="a@x", balance=7))
        session.flush()
        session.get(Account, 2).email = "c@x"
        session.flush()
        session.get(Account, 1).email = "b@x"
        session.commit()
    with Session(storage) as session:
        assert {(a.id, a.email, a.balance) for a in session.query(Account)} == {
            (1, "b@x", 7),
            (2, "c@x", 0),
        }


def test_keys_are_distinct_across_two_storages_of_one_file(path: str) -> None:
    first, second = Storage(path, engine="duckdb"), Storage(path, engine="duckdb")
    try:
        one, two = declare_account(first), declare_account(second)
        keys = []
        for storage, model in [(first, one), (second, two), (first, one)]:
            with Session(storage) as session:
                account = model(email=f"{len(keys)}@x")
                session.add(account)
                session.commit()
                keys.append(account.id)
        assert keys == [1, 2, 3]
    finally:
        first.close()
        second.close()
