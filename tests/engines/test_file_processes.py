"""File engines across processes: no lost update, a reader following a writer, and
writers killed with SIGKILL at random moments.

Children are forked from the test process (pytuck is already imported there,
so a child costs milliseconds, not an interpreter start). Each child opens its
own Storage; none inherits an open one.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from pytuck import ConflictError, Session, Storage
from tests.engines.file_helpers import (
    FILE_ENGINES,
    bind_counters,
    bind_users,
    database_path,
    make_database,
    names,
)

pytestmark = [
    pytest.mark.parametrize("engine", list(FILE_ENGINES)),
    pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL"),
]

_FORK = multiprocessing.get_context("fork") if sys.platform != "win32" else None
#: Seconds any wait of these tests may last before it counts as a hang.
_WAIT = 60
#: Compaction settings that make writers compact every few dozen commits,
#: so kills land in compactions too.
_OFTEN: dict[str, Any] = {"compact_min_bytes": 256, "compact_ratio": 0.05}


def _start(target: Callable[..., None], *args: Any) -> Any:
    """Fork a child running ``target(*args)``; a failure is written to ``<db>.error``."""
    assert _FORK is not None
    child = _FORK.Process(target=_reporting, args=(target, *args))
    child.start()
    return child


def _reporting(target: Callable[..., None], path: Path, *args: Any) -> None:
    try:
        target(path, *args)
    except BaseException:
        Path(f"{path}.error{os.getpid()}").write_text(traceback.format_exc())
        raise


def _join(child: Any, path: Path) -> None:
    child.join(_WAIT)
    errors = [p.read_text() for p in path.parent.glob(f"{path.name}.error*")]
    assert child.exitcode == 0, errors


# --- no update is lost -------------------------------------------------------------


def _increment(path: Path, engine: str, rounds: int, go: Any) -> None:
    storage = Storage(path, engine=engine, lock_timeout=_WAIT)
    counter = bind_counters(storage)
    go.wait(_WAIT)
    for _ in range(rounds):
        while True:
            session = Session(storage)
            try:
                session.get(counter, 1).value += 1
                session.commit()
                break
            except ConflictError:  # another process committed first: read again
                session.rollback()
            finally:
                session.close()
    storage.close()


def test_four_processes_incrementing_one_counter_lose_no_update(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as storage:
        counter = bind_counters(storage)
        with Session(storage) as session:
            session.add(counter(id=1, value=0))
            session.commit()
    assert _FORK is not None
    go = _FORK.Event()
    children = [_start(_increment, path, engine, 250, go) for _ in range(4)]
    go.set()
    for child in children:
        _join(child, path)
    with Storage(path, engine=engine) as storage:
        counter = bind_counters(storage)
        with Session(storage) as session:
            assert session.get(counter, 1).value == 1000


# --- a reader follows a writer -----------------------------------------------------------


def _write_rows(path: Path, engine: str, count: int) -> None:
    with Storage(path, engine=engine, **_OFTEN) as storage:
        model = bind_users(storage)
        for number in range(count):
            with Session(storage) as session:
                session.add(model(name=f"row {number:05d}"))
                session.commit()


def test_reader_sees_the_commits_of_a_writer_process_as_they_happen(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "seed")
    with Storage(path, engine=engine, read_only=True) as reader:
        model = bind_users(reader)
        writer = _start(_write_rows, path, engine, 60)
        seen = [1]
        deadline = time.monotonic() + _WAIT
        while seen[-1] < 61 and time.monotonic() < deadline:
            time.sleep(0.002)
            seen.append(len(names(reader, model)))
        _join(writer, path)
        assert seen[-1] == 61
        assert seen == sorted(seen)  # a reader never goes back in time
        assert len(set(seen)) > 2  # it saw commits one by one, not only the end
        assert names(reader, model) == sorted(["seed", *(f"row {n:05d}" for n in range(60))])


# --- SIGKILL at random moments ----------------------------------------------------------


def _commit_forever(path: Path, engine: str, first: int, acknowledgements: Connection) -> None:
    storage = Storage(path, engine=engine, **_OFTEN)
    model = bind_users(storage)
    number = first
    while True:
        with Session(storage) as session:
            session.add(model(name=f"row {number:05d}"))
            session.commit()
        acknowledgements.send(number)  # only once commit() has returned
        number += 1


def _stored_rows(path: Path, engine: str) -> list[str]:
    with Storage(path, engine=engine, read_only=True) as storage:
        if "people" not in storage.table_names():
            return []
        return names(storage, bind_users(storage))


def test_writer_killed_at_random_moments_keeps_every_acknowledged_commit(
    engine: str, tmp_path: Path
) -> None:
    assert _FORK is not None
    rng = random.Random(20240611)
    path = database_path(tmp_path, engine)
    stored = 0
    acknowledged = -1
    for _kill in range(32):
        receiver, sender = _FORK.Pipe(duplex=False)
        child = _start(_commit_forever, path, engine, stored, sender)
        sender.close()
        for _ in range(rng.randint(0, 12)):
            assert receiver.poll(_WAIT)
            acknowledged = receiver.recv()
        time.sleep(rng.random() * 0.004)  # the kill lands anywhere in a commit
        os.kill(child.pid, signal.SIGKILL)
        child.join(_WAIT)
        while receiver.poll(_WAIT):
            try:
                acknowledged = receiver.recv()
            except EOFError:
                break
        receiver.close()
        found = _stored_rows(path, engine)
        assert found == [f"row {n:05d}" for n in range(len(found))]  # whole commits, in order
        assert len(found) > acknowledged  # every acknowledged commit is there
        stored = len(found)
    assert acknowledged > 32  # the writers got somewhere between kills
    with Storage(path, engine=engine) as storage:  # a writer cleans up what crashes left
        assert len(names(storage, bind_users(storage))) == stored
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, path.name + ".lock"])
