"""Every engine whose driver is installed registers itself (a silent import failure
would quietly shrink the conformance suite)."""

from __future__ import annotations

import importlib.util

from pytuck import Storage


def test_every_engine_with_its_driver_installed_is_available() -> None:
    expected = {"memory", "binary", "json", "sqlite"}
    if importlib.util.find_spec("duckdb") is not None:
        expected.add("duckdb")
    if importlib.util.find_spec("asyncpg") is not None:
        expected.add("postgresql")
    assert expected <= set(Storage.available_engines())


def test_importing_pytuck_loads_no_optional_driver() -> None:
    # duckdb, pyarrow and asyncpg cost ~190 ms to import: only opening such a storage pays it.
    import subprocess
    import sys

    code = "import sys, pytuck; print(sorted(m for m in ('duckdb', 'pyarrow', 'asyncpg') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
