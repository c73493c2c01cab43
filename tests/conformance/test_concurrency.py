"""One storage shared by sessions in several threads (each session used by one thread).

No update is lost (writers that collide get ConflictError and retry), and no
reader ever sees a commit half-applied. Threads start together at a barrier;
nothing waits on the clock.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytuck import Column, ConflictError, DuplicateKeyError, Session, func, select, update

THREADS = 4
ROUNDS = 50
#: Bounds a retry loop so a livelock fails the test instead of hanging it.
MAX_ATTEMPTS = 10_000
#: Seconds a barrier waits before the test fails (a deadlock, not a slow run).
WAIT = 60


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` in ``count`` threads started together; re-raise the first failure."""
    barrier = threading.Barrier(count, timeout=WAIT)
    failures: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # handed to the test thread below
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def retrying(storage: Any, change: Callable[[Session], None]) -> int:
    """Run ``change`` in a fresh transaction until it commits; return the attempts."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        session = Session(storage)
        try:
            change(session)
            session.commit()
            return attempt
        except ConflictError:
            session.rollback()
        finally:
            session.close()
    raise AssertionError(f"no commit after {MAX_ATTEMPTS} attempts")


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Make the interpreter switch threads very often, to expose races."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def Counter(storage: Any, Base: Any) -> Any:
    """One counter row, id 1, starting at 0."""

    class Counter(Base):
        __tablename__ = "counters"
        id = Column(int, primary_key=True)
        value = Column(int, nullable=False)

    with Session(storage) as session:
        session.add(Counter(id=1, value=0))
    return Counter


def counter_value(storage: Any, model: Any) -> int:
    """The committed value of the counter."""
    with Session(storage) as session:
        return int(session.get(model, 1).value)


class FirstAttemptMeeting:
    """Makes every thread's first attempt of a round wait for the others (retries do not)."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier
        self.waited = False

    def __call__(self) -> None:
        if not self.waited:
            self.waited = True
            self.barrier.wait()


def test_read_modify_write_increments_lose_no_update(storage: Any, Counter: Any) -> None:
    # Every round, all threads read the counter, meet, then write: all but
    # one must be refused with ConflictError and retry on fresh values.
    barrier = threading.Barrier(THREADS, timeout=WAIT)
    retries: list[int] = []

    def increment(meet: FirstAttemptMeeting) -> Callable[[Session], None]:
        def change(session: Session) -> None:
            counter = session.get(Counter, 1)
            value = counter.value
            meet()
            counter.value = value + 1

        return change

    def work(_: int) -> None:
        for _round in range(ROUNDS):
            retries.append(retrying(storage, increment(FirstAttemptMeeting(barrier))) - 1)

    run_threads(THREADS, work)
    assert counter_value(storage, Counter) == THREADS * ROUNDS
    assert sum(retries) >= ROUNDS, "the threads never collided"


@pytest.mark.usefixtures("busy_switching")
def test_update_statement_increments_lose_no_update(storage: Any, Counter: Any) -> None:
    barrier = threading.Barrier(THREADS, timeout=WAIT)

    def increment(meet: FirstAttemptMeeting) -> Callable[[Session], None]:
        def change(session: Session) -> None:
            session.get(Counter, 1)
            meet()
            session.execute(update(Counter).where(Counter.id == 1).values(value=Counter.value + 1))

        return change

    def work(_: int) -> None:
        for _round in range(ROUNDS):
            retrying(storage, increment(FirstAttemptMeeting(barrier)))

    run_threads(THREADS, work)
    assert counter_value(storage, Counter) == THREADS * ROUNDS


def test_threads_inserting_get_distinct_keys(storage: Any, User: Any) -> None:
    keys: list[list[int]] = [[] for _ in range(THREADS)]

    def work(index: int) -> None:
        for number in range(ROUNDS):
            with Session(storage) as session:
                user = User(name=f"{index}-{number}")
                session.add(user)
                session.commit()
                keys[index].append(user.id)

    run_threads(THREADS, work)
    every = [key for chunk in keys for key in chunk]
    assert len(set(every)) == THREADS * ROUNDS
    assert all(chunk == sorted(chunk) for chunk in keys)
    with Session(storage) as session:
        assert session.query(User).count() == THREADS * ROUNDS


@pytest.fixture
def Account(storage: Any, Base: Any) -> Any:
    """Two accounts holding 1000 between them."""

    class Account(Base):
        __tablename__ = "accounts"
        id = Column(int, primary_key=True)
        balance = Column(int, nullable=False)

    with Session(storage) as session:
        session.add_all([Account(id=1, balance=500), Account(id=2, balance=500)])
    return Account


@pytest.mark.usefixtures("busy_switching")
def test_reader_never_sees_a_transfer_half_applied(storage: Any, Account: Any) -> None:
    done = threading.Event()
    totals: list[int] = []

    def transfer(amount: int) -> Callable[[Session], None]:
        def change(session: Session) -> None:
            source, target = session.get(Account, 1), session.get(Account, 2)
            source.balance = source.balance - amount
            target.balance = target.balance + amount

        return change

    def work(index: int) -> None:
        if index == 0:
            try:
                for number in range(ROUNDS * 2):
                    retrying(storage, transfer(number % 7 - 3))
            finally:
                done.set()
            return
        # Readers: each read is one statement in a fresh transaction.
        while not done.is_set():
            with Session(storage) as session:
                balances = session.execute(select(Account.balance)).scalars().all()
                total = session.execute(select(func.sum(Account.balance))).scalar()
            assert sum(balances) == 1000 and total == 1000, (balances, total)
            totals.append(total)

    run_threads(3, work)
    assert totals, "the readers never ran"
    with Session(storage) as session:
        assert session.execute(select(func.sum(Account.balance))).scalar() == 1000


def test_other_thread_never_sees_uncommitted_rows(storage: Any, User: Any, people: Any) -> None:
    flushed = threading.Barrier(2, timeout=WAIT)
    checked = threading.Barrier(2, timeout=WAIT)
    seen: dict[str, int] = {}

    def work(index: int) -> None:
        if index == 0:
            with Session(storage) as writer:
                writer.add(User(name="Zed"))
                writer.get(User, 1).age = 99
                writer.flush()
                flushed.wait()
                checked.wait()
                writer.commit()
        else:
            flushed.wait()
            with Session(storage) as reader:
                seen["zed"] = reader.query(User).filter_by(name="Zed").count()
                seen["ann_age"] = reader.get(User, 1).age
            checked.wait()

    run_threads(2, work)
    assert seen == {"zed": 0, "ann_age": 31}
    with Session(storage) as session:
        assert session.query(User).filter_by(name="Zed").count() == 1


def test_write_based_on_a_stale_read_is_refused_then_retried(storage: Any, Counter: Any) -> None:
    # Deterministic, one thread: ``slow`` reads, ``fast`` commits a change to
    # the same row, then ``slow`` writes. Writing over ``fast`` would lose its
    # update, so the commit is refused; after rollback the session retries.
    with Session(storage) as slow:
        counter = slow.get(Counter, 1)
        with Session(storage) as fast:
            fast.get(Counter, 1).value = 10
            fast.commit()
        counter.value = counter.value + 1
        with pytest.raises(ConflictError):
            slow.commit()
        slow.rollback()
        counter = slow.get(Counter, 1)
        counter.value = counter.value + 1
        slow.commit()
    assert counter_value(storage, Counter) == 11


@pytest.mark.parametrize("column", ["primary key", "unique column"])
def test_concurrent_inserts_of_one_unique_value_let_exactly_one_win(
    storage: Any, User: Any, column: str
) -> None:
    flushed = threading.Barrier(2, timeout=WAIT)
    outcomes: dict[int, str] = {}

    def work(index: int) -> None:
        values = {"id": 7} if column == "primary key" else {"email": "same@x.io"}
        session = Session(storage)
        try:
            if index == 0:
                session.add(User(name="first", **values))
                session.flush()
                flushed.wait()
            else:
                flushed.wait()
                session.add(User(name="second", **values))
            session.commit()
            outcomes[index] = "committed"
        except DuplicateKeyError:
            outcomes[index] = "duplicate"
        finally:
            session.close()

    run_threads(2, work)
    assert sorted(outcomes.values()) == ["committed", "duplicate"]
    with Session(storage) as session:
        assert session.query(User).count() == 1


def test_change_to_a_row_deleted_meanwhile_is_refused(storage: Any, Counter: Any) -> None:
    # Writing to a row another session deleted must not pass silently (nor
    # bring the row back): the commit raises ConflictError, as any stale write.
    with Session(storage) as slow:
        counter = slow.get(Counter, 1)
        slow.commit()
        with Session(storage) as fast:
            fast.delete(fast.get(Counter, 1))
            fast.commit()
        counter.value = 5
        with pytest.raises(ConflictError, match="counters"):
            slow.commit()
        slow.rollback()
    with Session(storage) as session:
        assert session.get(Counter, 1) is None


def test_change_to_a_row_deleted_during_the_transaction_is_refused(
    storage: Any, Counter: Any
) -> None:
    with Session(storage) as slow:
        counter = slow.get(Counter, 1)
        with Session(storage) as fast:
            fast.delete(fast.get(Counter, 1))
            fast.commit()
        counter.value = 5
        with pytest.raises(ConflictError):
            slow.commit()
        slow.rollback()
    with Session(storage) as session:
        assert session.get(Counter, 1) is None
