"""Reaching the server: DSNs, masked passwords, bounded timeouts, options."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from pytuck import Storage
from pytuck.engines.sql.postgresql import mask_dsn
from pytuck.errors import ConfigurationError, DatabaseConnectionError

pytest.importorskip("asyncpg")


@pytest.mark.parametrize(
    "dsn, masked",
    [
        ("postgresql://ann:s3cret@db:5432/app", "postgresql://ann:***@db:5432/app"),
        ("postgres://ann:p%40ss@db/app?sslmode=disable", "postgres://ann:***@db/app?sslmode=disable"),
        ("postgresql://ann:a:b@c@host/db", "postgresql://ann:***@host/db"),
        ("postgresql://ann@db/app?password=s3cret&x=1", "postgresql://ann@db/app?password=***&x=1"),
        ("postgresql://db/app", "postgresql://db/app"),
        ("postgresql://ann@db/app", "postgresql://ann@db/app"),
    ],
)
def test_mask_dsn_hides_the_password(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_closed_port_raises_connection_error_naming_the_masked_dsn() -> None:
    dsn = f"postgresql://ann:topsecret@127.0.0.1:{_closed_port()}/app"
    started = time.monotonic()
    with pytest.raises(DatabaseConnectionError) as caught:
        Storage(dsn, connect_timeout=2)
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "postgresql://ann:***@127.0.0.1:" in message
    assert "topsecret" not in message
    assert "topsecret" not in str(caught.value.__cause__)
    assert isinstance(caught.value.__cause__, OSError)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and then never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def test_server_that_never_answers_times_out_within_connect_timeout(silent_server: int) -> None:
    dsn = f"postgresql://ann:topsecret@127.0.0.1:{silent_server}/app"
    started = time.monotonic()
    with pytest.raises(DatabaseConnectionError, match=r"connect_timeout=0\.3") as caught:
        Storage(dsn, connect_timeout=0.3)
    assert time.monotonic() - started < 3
    assert "topsecret" not in str(caught.value)


def test_unusable_dsn_raises_connection_error() -> None:
    with pytest.raises(DatabaseConnectionError, match=r"\*\*\*") as caught:
        Storage("postgresql://ann:topsecret@127.0.0.1:notaport/app", engine="postgresql")
    assert "topsecret" not in str(caught.value)


def test_missing_database_raises_connection_error(dsn: str) -> None:
    base = dsn.rsplit("/", 1)[0]
    with pytest.raises(DatabaseConnectionError, match="pytuck_no_such_database"):
        Storage(f"{base}/pytuck_no_such_database", engine="postgresql")


@pytest.mark.parametrize(
    "options",
    [
        {"max_size": 0},
        {"min_size": 3, "max_size": 2},
        {"connect_timeout": 0},
        {"lock_timeout": -1},
        {"schema": ""},
        {"pool": 3},
    ],
)
def test_bad_options_raise_configuration_error(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Storage("postgresql://ann@127.0.0.1:1/app", **options)


def test_engine_needs_a_dsn() -> None:
    with pytest.raises(ConfigurationError, match="DSN"):
        Storage("", engine="postgresql")
