"""The engine fixture of the conformance suite.

Every test in ``tests/conformance`` runs once per engine in :data:`ENGINES`.
A new engine joins by one line here; it then inherits every test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytuck import Column, Storage, declarative_base
from pytuck.engines import available_engines
from tests.servers import PG_DSN, require_server

#: Every engine the suite knows. Add one line per engine.
ALL_ENGINES: list[str] = [
    "memory",
    "binary",
    "json",
    "sqlite",
    "duckdb",
    "postgresql",
]


def _selected_engines() -> list[str]:
    """ALL_ENGINES that are registered, narrowed by ``PYTUCK_ENGINES=a,b`` if set."""
    wanted = os.environ.get("PYTUCK_ENGINES")
    names = [name for name in ALL_ENGINES if name in available_engines()]
    if wanted:
        chosen = {name.strip() for name in wanted.split(",") if name.strip()}
        names = [name for name in names if name in chosen]
    return names


#: Engines the whole suite runs on.
ENGINES: list[str] = _selected_engines()


#: File suffix per engine for engines that store into a file.
_SUFFIX = {"binary": ".pytuck", "json": ".json", "sqlite": ".sqlite", "duckdb": ".duckdb"}


class StorageFactory:
    """Opens storages of one engine in a test's temporary folder.

    ``factory()`` opens a fresh database; ``factory.reopen()`` opens the last
    database again (after closing the open handle), to check persistence.
    """

    def __init__(self, engine: str, folder: Path) -> None:
        self.engine = engine
        self.folder = folder
        self.opened: list[Storage] = []
        self.count = 0
        self.last_location: str | None = None
        self.schemas: list[str] = []

    @property
    def persistent(self) -> bool:
        """True when data survives a close and reopen."""
        return self.engine != "memory"

    def _location(self) -> str | None:
        if self.engine == "memory":
            return None
        if self.engine == "postgresql":
            self.schemas.append(f"pytuck_test_{secrets.token_hex(6)}")
            return PG_DSN
        self.count += 1
        return str(self.folder / f"db{self.count}{_SUFFIX.get(self.engine, '')}")

    def __call__(self, **options: Any) -> Storage:
        location = self._location()
        self.last_location = location
        return self._open(location, **options)

    def _open(self, location: str | None, **options: Any) -> Storage:
        if self.engine == "memory":
            storage = Storage(in_memory=True, **options)
        elif self.engine == "postgresql":
            storage = Storage(location, engine=self.engine, schema=self.schemas[-1], **options)
        else:
            storage = Storage(location, engine=self.engine, **options)
        self.opened.append(storage)
        return storage

    def reopen(self, storage: Storage, **options: Any) -> Storage:
        """Close ``storage`` and open its database again (persistent engines only)."""
        if not self.persistent:
            pytest.skip(f"the {self.engine} engine keeps nothing after close")
        storage.close()
        return self._open(self.last_location, **options)

    def close_all(self) -> None:
        for storage in self.opened:
            storage.close()
        if self.schemas:
            cleaner = Storage(PG_DSN, engine="postgresql")
            try:
                for schema in self.schemas:
                    cleaner.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                cleaner.close()


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    """The engine under test."""
    return str(request.param)


@pytest.fixture
def make_storage(engine_name: str, tmp_path: Path) -> Iterator[StorageFactory]:
    """A factory of storages on the engine under test (closed after the test)."""
    require_server(engine_name)
    factory = StorageFactory(engine_name, tmp_path)
    yield factory
    factory.close_all()


@pytest.fixture
def storage(make_storage: StorageFactory) -> Storage:
    """A fresh, empty database on the engine under test."""
    return make_storage()


@pytest.fixture
def Base(storage: Storage) -> Any:  # noqa: N802 - reads like the class it is
    """A declarative base bound to :func:`storage`."""
    return declarative_base(storage)


@pytest.fixture
def User(Base: Any) -> Any:  # noqa: N802, N803
    """The common test model: users with a few indexed and nullable columns."""

    class User(Base):  # type: ignore[misc, valid-type]
        __tablename__ = "users"
        id = Column(int, primary_key=True)
        name = Column(str, index=True, nullable=False)
        email = Column(str, unique=True)
        age = Column(int, index="sorted")
        score = Column(float)
        active = Column(bool, default=True)
        city = Column(str)
        tags = Column(list)

    return User


@pytest.fixture
def people(User: Any, storage: Storage) -> list[dict[str, Any]]:  # noqa: N803
    """Six users committed to the database, NULLs and non-ASCII included."""
    from pytuck import Session

    rows = [
        dict(name="Ann", email="ann@x.io", age=31, score=9.5, active=True, city="Oslo", tags=["a"]),
        dict(name="Bob", email="bob@x.io", age=70, score=7.0, active=False, city="Bergen", tags=[]),
        dict(name="cy", email=None, age=None, score=None, active=True, city=None, tags=None),
        dict(name="Dée", email="dee@x.io", age=18, score=5.25, active=True, city="Oslo", tags=["b", "c"]),
        dict(name="Eve", email="eve@x.io", age=65, score=None, active=False, city="Trondheim", tags=["a"]),
        dict(name="Ñu", email="nu@x.io", age=31, score=8.0, active=True, city="Bergen", tags=None),
    ]
    with Session(storage) as session:
        session.add_all(User(**row) for row in rows)
        session.commit()
    return rows


Factory = Callable[..., Storage]
