"""Measure the file engines by hand (not a test, not run by CI).

    python tests/engines/files/measure_file_engines.py [--commits 300]

Prints, per engine: the median time of one durable single-row commit into a
1,000-row and into a 100,000-row database (each commit in its own session,
auto_flush=True), alternated with a floor (a 120-byte append + fdatasync) so
that a drifting disk weighs on all three alike; the same commits with the
sync skipped (the commit's own work); the time to open the 100,000-row file
and answer one primary-key lookup (here and in a fresh process); the file size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytuck import Column, Session, Storage, declarative_base
from pytuck.engines import journal

_OPEN_AND_GET = """
import sys, time
start = time.perf_counter()
from pytuck import Storage, Column, Session, declarative_base
imported = time.perf_counter()
storage = Storage(sys.argv[1], engine=sys.argv[2], read_only=True)
base = declarative_base(storage)
class User(base):
    __tablename__ = "users"
    id = Column(int, primary_key=True)
    name = Column(str, index=True)
    age = Column(int, index="sorted")
    city = Column(str)
    score = Column(float)
with Session(storage) as session:
    assert session.get(User, 77_777).name == "user 77777"
print((time.perf_counter() - imported) * 1000)
"""


def _model(storage: Storage) -> Any:
    base = declarative_base(storage)

    class User(base):  # type: ignore[misc, valid-type]
        __tablename__ = "users"
        id = Column(int, primary_key=True)
        name = Column(str, index=True)
        age = Column(int, index="sorted")
        city = Column(str)
        score = Column(float)

    return User


def _build(path: Path, engine: str, rows: int) -> None:
    with Storage(path, engine=engine) as storage:
        user = _model(storage)
        with Session(storage) as session:
            session.add_all(
                user(id=i, name=f"user {i}", age=i % 90, city=f"city {i % 50}", score=i / 7)
                for i in range(1, rows + 1)
            )
            session.commit()


def _commits(paths: list[Path], engine: str, count: int, floor_file: str) -> list[float]:
    """Median seconds per durable single-row commit into each database, and of the floor.

    Commits alternate between the databases and a floor append, so a disk
    whose sync time drifts (a shared virtual disk) weighs on each alike.
    """
    storages = [Storage(path, engine=engine) for path in paths]
    models = [_model(storage) for storage in storages]
    fd = os.open(floor_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    times: list[list[float]] = [[] for _ in range(len(paths) + 1)]
    try:
        for i in range(count):
            for storage, user, spent in zip(storages, models, times):
                start = time.perf_counter()
                with Session(storage) as session:
                    session.add(user(name=f"new {i}", age=30, city="Oslo", score=1.5))
                    session.commit()
                spent.append(time.perf_counter() - start)
            start = time.perf_counter()
            os.write(fd, b"x" * 120)
            journal.sync(fd)
            times[-1].append(time.perf_counter() - start)
    finally:
        os.close(fd)
        for storage in storages:
            storage.close()
    return [statistics.median(spent) for spent in times]


def main() -> None:
    """Run the measurements and print one line per figure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=300)
    commits = parser.parse_args().commits
    with tempfile.TemporaryDirectory() as folder:
        floor_file = os.path.join(folder, "floor.bin")
        for engine, suffix in (("binary", ".pytuck"), ("json", ".json")):
            paths = [Path(folder) / f"{engine}{rows}{suffix}" for rows in (1_000, 100_000)]
            for path, rows in zip(paths, (1_000, 100_000)):
                _build(path, engine, rows)
            *durable, floor = _commits(paths, engine, commits, floor_file)
            real_sync = journal.sync
            journal.sync = lambda fd: None  # what a commit costs besides the sync
            try:
                *cpu, _ = _commits(paths, engine, commits, floor_file)
            finally:
                journal.sync = real_sync
            print(f"{engine:6} floor: append 120 B + fdatasync {floor * 1e6:6.0f} us")
            for rows, spent, work in zip((1_000, 100_000), durable, cpu):
                print(
                    f"{engine:6} commit into {rows:>7,} rows  {spent * 1e6:6.0f} us"
                    f"  ({spent / floor:.2f}x floor); without the sync {work * 1e6:4.0f} us"
                )
            path = Path(folder) / f"{engine}100000{suffix}"
            start = time.perf_counter()
            storage = Storage(path, engine=engine, read_only=True)
            user = _model(storage)
            with Session(storage) as session:
                assert session.get(user, 77_777).name == "user 77777"
            opened = time.perf_counter() - start
            storage.close()
            fresh = float(
                subprocess.run(
                    [sys.executable, "-c", _OPEN_AND_GET, str(path), engine],
                    capture_output=True, text=True, check=True,
                ).stdout
            )
            print(
                f"{engine:6} open 100k + pk get  {opened * 1000:8.0f} ms here, {fresh:.0f} ms in a "
                f"fresh process (after import); file {path.stat().st_size / 1e6:.1f} MB"
            )


if __name__ == "__main__":
    main()
