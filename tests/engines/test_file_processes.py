"""File engines across processes: the writer lock, and crashes right after a commit."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytuck import Storage
from tests.engines.file_helpers import FILE_ENGINES, bind_users, database_path, make_database, names

pytestmark = [
    pytest.mark.parametrize("engine", list(FILE_ENGINES)),
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and flock"),
]

_OPEN_AGAIN = textwrap.dedent(
    """
    import sys
    from pytuck import Storage
    try:
        Storage(sys.argv[1], engine=sys.argv[2], read_only=sys.argv[3] == "ro").close()
    except Exception as error:
        print(type(error).__name__, error)
    else:
        print("opened")
    """
)

_COMMIT_FOREVER = textwrap.dedent(
    """
    import sys
    from pytuck import Session, Storage
    from tests.engines.file_helpers import bind_users

    storage = Storage(sys.argv[1], engine=sys.argv[2])
    model = bind_users(storage)
    for number in range(100_000):
        with Session(storage) as session:
            session.add(model(name=f"row {number:05d}"))
            session.commit()
        print(number, flush=True)
    """
)


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True, text=True, timeout=60, cwd=_repository_root(), check=True,
    )
    return done.stdout.strip()


def _repository_root() -> Path:
    return Path(__file__).resolve().parents[2]


def test_second_writer_in_another_process_fails_naming_the_file(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine):
        output = _run(_OPEN_AGAIN, str(path), engine, "rw")
    assert output.startswith("DatabaseConnectionError")
    assert str(path) in output and "already open for writing" in output


def test_reader_in_another_process_opens_while_a_writer_holds_the_lock(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine):
        assert _run(_OPEN_AGAIN, str(path), engine, "ro") == "opened"


def test_sigkill_right_after_commit_keeps_that_commit(engine: str, tmp_path: Path) -> None:
    rng = random.Random(20240611)
    for attempt in range(3):
        path = database_path(tmp_path, engine, stem=f"crash{attempt}")
        wanted = rng.randint(0, 25)
        child = subprocess.Popen(
            [sys.executable, "-c", _COMMIT_FOREVER, str(path), engine],
            stdout=subprocess.PIPE, text=True, cwd=_repository_root(),
        )
        assert child.stdout is not None
        for line in child.stdout:
            if int(line) >= wanted:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        with Storage(path, engine=engine) as storage:
            found = names(storage, bind_users(storage))
        assert len(found) > wanted
        assert found == [f"row {number:05d}" for number in range(len(found))]
