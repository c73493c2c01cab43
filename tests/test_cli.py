"""The README's first command: ``python -m pytuck demo`` works and tells the truth."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from pytuck import ConfigurationError, Storage
from pytuck.cli import run_demo
from tests.servers import PG_DSN, require_server


@pytest.mark.parametrize("engine", Storage.available_engines())
def test_demo_reports_each_step_on_every_engine(tmp_path: Path, engine: str) -> None:
    require_server(engine)
    out = io.StringIO()
    where = run_demo(tmp_path, engine=engine, out=out, dsn=PG_DSN)
    if engine == "postgresql":
        schema = where.split()[1]
        with Storage(PG_DSN, engine="postgresql") as server:
            server.execute_sql(f'DROP SCHEMA "{schema}" CASCADE')
    text = out.getvalue()
    assert "1961  Solaris" in text
    assert "1968  A Wizard of Earthsea" in text
    assert "rolled back: Solaris is 1962 again, 4 books" in text
    assert "Lem's books now: Solaris, The Cyberiad" in text


def test_demo_command_runs_on_default_engine_and_keeps_its_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytuck", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "rolled back" in result.stdout
    files = [p for p in tmp_path.iterdir() if p.name.startswith("demo")]
    assert files, result.stdout
    reopened = Storage(files[0])
    try:
        assert sorted(reopened.table_names()) == ["authors", "books"]
    finally:
        reopened.close()


def test_demo_refuses_to_reuse_an_existing_database(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytuck", "demo", "--dir", str(tmp_path)]
    subprocess.run(command, capture_output=True, text=True, check=True)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_demo_on_a_server_engine_asks_for_a_dsn(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--dsn"):
        run_demo(tmp_path, engine="postgresql", out=io.StringIO())
