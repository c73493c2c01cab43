"""pytuck, on any registered engine, through the ORM as users write it.

The engine is chosen by name through ``Storage(location, engine=name)``, so a
new engine joins the benchmark without code here: file engines get a file in
the run's temporary folder, ``postgresql`` the DSN given on the command line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytuck
from benchmarks.harness import System
from pytuck import Column, Session, Storage, declarative_base, func, or_, select

__all__ = ["PytuckSystem", "engine_location", "source_digest"]

#: File name suffix per file-based engine (anything else not listed gets ".db").
_SUFFIX = {"binary": ".pytuck", "json": ".json", "sqlite": ".sqlite", "duckdb": ".duckdb"}


def source_digest(package: Path) -> str:
    """A short digest of every ``.py`` file under ``package``, to tell which code was measured."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


#: The digest of the pytuck source this process imported (taken at import time,
#: so later edits to the checkout during a run do not change it).
_IMPORTED_SOURCE = source_digest(Path(pytuck.__file__).resolve().parent)


def engine_location(engine: str, folder: Path, dsn: str | None) -> str | None:
    """Where ``engine`` keeps the benchmark database: None in memory, a DSN, or a file."""
    if engine == "memory":
        return None
    if engine == "postgresql":
        return dsn
    return str(folder / f"bench{_SUFFIX.get(engine, '.db')}")


class PytuckSystem(System):
    """pytuck's ORM: ``Session``, ``session.get``, ``session.query(...).filter(...).all()``.

    Args:
        engine: a registered engine name (``Storage(..., engine=engine)``).
        folder: a temporary folder for file engines.
        dsn: the server DSN, for server engines.
        insert_method: ``"add_all"`` (``session.add_all`` + ``commit``) or
            ``"bulk_insert"`` (``Session.bulk_insert`` + ``commit``).
    """

    def __init__(self, engine: str, folder: Path, dsn: str | None = None, insert_method: str = "add_all") -> None:
        self.engine = engine
        self.label = f"pytuck:{engine}"
        self.location = engine_location(engine, folder, dsn)
        self.insert_method = insert_method
        self.notes = (
            f"Storage({'None' if self.location is None else 'path'}, engine={engine!r}); "
            f"bulk insert via {'session.add_all + commit' if insert_method == 'add_all' else 'Session.bulk_insert + commit'}; "
            "name: hash index, age: sorted index; one Session per group repetition"
        )
        self.session: Session | None = None

    def open(self) -> None:
        """Open the storage, drop a leftover users table (servers), declare the model."""
        self.storage = Storage(self.location, engine=self.engine)
        self.storage_class = "file" if self.storage.engine.capabilities.persistent else "memory"
        if "users" in self.storage.table_names():
            self.storage.drop_table("users")
        base: Any = declarative_base(self.storage)

        class User(base):  # type: ignore[misc, valid-type]
            __tablename__ = "users"
            id = Column(int, primary_key=True)
            name = Column(str, index=True, nullable=False)
            email = Column(str, nullable=False)
            age = Column(int, index="sorted", nullable=False)
            score = Column(float, nullable=False)
            active = Column(bool, nullable=False)
            city = Column(str, nullable=False)
            created_at = Column(datetime, nullable=False)
            tags = Column(list, nullable=False)

        self.User = User

    def versions(self) -> dict[str, str]:
        """pytuck's version and the digest of the source this process imported."""
        return {"pytuck": pytuck.__version__, "source digest": _IMPORTED_SOURCE}

    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """``session.add_all([User(**row) ...]); session.commit()`` (or ``bulk_insert``)."""
        User = self.User
        with Session(self.storage) as session:
            if self.insert_method == "bulk_insert":
                session.bulk_insert([User(**row) for row in rows])
            else:
                session.add_all([User(**row) for row in rows])
            session.commit()

    def begin_group(self) -> None:
        """A fresh session: an empty identity map for each repetition."""
        self.session = Session(self.storage)

    def end_group(self) -> None:
        """Close the group's session."""
        if self.session is not None:
            self.session.close()
            self.session = None

    def _session(self) -> Session:
        assert self.session is not None, "begin_group() opens the session"
        return self.session

    def get_each(self, keys: Sequence[int]) -> list[Any]:
        """``session.get(User, key)`` per key."""
        session = self._session()
        User = self.User
        return [session.get(User, key) for key in keys]

    def by_name(self, name: str) -> list[Any]:
        """``session.query(User).filter(User.name == name).all()``."""
        User = self.User
        return self._session().query(User).filter(User.name == name).all()

    def by_city(self, city: str) -> list[Any]:
        """``session.query(User).filter(User.city == city).all()`` (a full scan)."""
        User = self.User
        return self._session().query(User).filter(User.city == city).all()

    def age_between(self, lo: int, hi: int) -> list[Any]:
        """``session.query(User).filter(User.age.between(lo, hi)).all()``."""
        User = self.User
        return self._session().query(User).filter(User.age.between(lo, hi)).all()

    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """``session.query(User).filter(or_(User.age < age, User.name == name)).all()``."""
        User = self.User
        return self._session().query(User).filter(or_(User.age < age, User.name == name)).all()

    def count_by_city(self) -> list[tuple[str, int]]:
        """``session.execute(select(User.city, func.count()).group_by(User.city)).all()``."""
        User = self.User
        rows = self._session().execute(select(User.city, func.count()).group_by(User.city)).all()
        return [(row[0], row[1]) for row in rows]

    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """``user = session.get(User, key)``, set two attributes, ``session.commit()``, per row."""
        session = self._session()
        User = self.User
        for key, age, score in changes:
            user = session.get(User, key)
            user.age = age
            user.score = score
            session.commit()

    def delete_each(self, keys: Sequence[int]) -> None:
        """``session.delete(session.get(User, key)); session.commit()``, per row."""
        session = self._session()
        User = self.User
        for key in keys:
            session.delete(session.get(User, key))
            session.commit()

    def ident(self, item: Any) -> int:
        """``user.id``."""
        return int(item.id)

    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` read in a new session."""
        with Session(self.storage) as session:
            found = [session.get(self.User, key) for key in keys]
            return [(u.id, u.age, u.score) for u in found if u is not None]

    def row_count(self) -> int:
        """``session.query(User).count()``."""
        with Session(self.storage) as session:
            return session.query(self.User).count()

    def close(self) -> None:
        """Drop the table on servers, close the storage."""
        if self.engine == "postgresql":
            self.storage.drop_table("users")
        self.storage.close()
