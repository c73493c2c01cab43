"""Fixtures of the DuckDB engine's own tests (the engine registers when duckdb imports)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")

import pytuck.engines.sql  # noqa: E402, F401  (registers the SQL engines until pytuck.engines does)
from pytuck import Column, Storage, declarative_base  # noqa: E402


@pytest.fixture
def path(tmp_path: Path) -> str:
    """A database file path in a fresh folder."""
    return str(tmp_path / "data.duckdb")


@pytest.fixture
def storage(path: str) -> Iterator[Storage]:
    """A fresh DuckDB storage, closed after the test."""
    opened = Storage(path, engine="duckdb")
    try:
        yield opened
    finally:
        opened.close()


def declare_account(storage: Storage) -> Any:
    """The Account model: an integer key, a unique email and a balance."""
    base: Any = declarative_base(storage)

    class Account(base):  # type: ignore[misc, valid-type]
        __tablename__ = "accounts"
        id = Column(int, primary_key=True)
        email = Column(str, unique=True)
        balance = Column(int, nullable=False, default=0)

    return Account


@pytest.fixture
def Account(storage: Storage) -> Any:  # noqa: N802 - reads like the class it is
    """The Account model on :func:`storage`."""
    return declare_account(storage)
