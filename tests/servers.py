"""The PostgreSQL server tests use, and the rule for when it does not answer."""

from __future__ import annotations

import os

import pytest

from pytuck import DatabaseConnectionError, Storage

#: The server (each test isolates itself in its own schema).
PG_DSN = os.environ.get("PYTUCK_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")

_pg_answers: bool | None = None


def require_server(engine: str) -> None:
    """Skip (or, with ``PYTUCK_REQUIRE_PG=1`` as CI sets, fail) when the
    PostgreSQL server at ``PYTUCK_PG_DSN`` does not answer."""
    global _pg_answers
    if engine != "postgresql":
        return
    if _pg_answers is None:
        try:
            with Storage(PG_DSN, engine="postgresql", connect_timeout=3) as probe:
                probe.execute_sql("SELECT 1")
            _pg_answers = True
        except DatabaseConnectionError:
            _pg_answers = False
    if not _pg_answers:
        message = f"no PostgreSQL server answers at PYTUCK_PG_DSN ({PG_DSN})"
        if os.environ.get("PYTUCK_REQUIRE_PG") == "1":
            pytest.fail(message)
        pytest.skip(message)
