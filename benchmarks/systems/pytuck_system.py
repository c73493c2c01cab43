"""pytuck, on any registered engine, through the ORM as users write it.

The engine is chosen by name through ``Storage(location, engine=name)``, so a
new engine joins the benchmark without code here: file engines get a file in
the run's temporary folder, ``postgresql`` the DSN given on the command line
and a schema of its own (dropped at the end). The SQL engines register when
``pytuck.engines.sql`` is imported; the import is tried here, so they are
found whether or not ``pytuck.engines`` imports them itself.

:class:`PytuckSystem` runs the workload; :class:`PytuckStore` the file suite.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytuck
from benchmarks.file_store import FileStore
from benchmarks.harness import System, source_digest
from benchmarks.systems import engine_class
from benchmarks.systems.pg import drop_schema, schema_name
from pytuck import Column, Session, Storage, declarative_base, func, or_, select

with contextlib.suppress(ImportError):  # registers sqlite/duckdb/postgresql where they exist
    import pytuck.engines.sql  # noqa: F401

__all__ = ["PytuckStore", "PytuckSystem", "declare_user", "engine_location", "open_storage", "probe_engines"]

#: File name suffix per file-based engine (anything else not listed gets ".db").
_SUFFIX = {"binary": ".pytuck", "json": ".json", "sqlite": ".sqlite", "duckdb": ".duckdb"}


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


def open_storage(engine: str, location: str | None, schema: str | None = None) -> Storage:
    """``Storage(location, engine=engine)``, with ``schema=`` on PostgreSQL."""
    if engine == "postgresql":
        return Storage(location, engine=engine, schema=schema)
    return Storage(location, engine=engine)


def probe_engines(names: list[str] | None, dsn: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Open each engine through ``Storage`` (PostgreSQL in a schema of its own, dropped after).

    Args:
        names: engines to probe, or None for every registered engine.
        dsn: the PostgreSQL DSN, if any.

    Returns:
        ``({engine: storage class}, {engine: why it cannot run here})``.
    """
    import tempfile

    from pytuck.engines import available_engines

    usable: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in names if names is not None else available_engines():
        if name == "postgresql" and not dsn:
            skipped[name] = "no PostgreSQL DSN (--dsn or $PYTUCK_BENCH_DSN)"
            continue
        schema = schema_name("probe") if name == "postgresql" else None
        try:
            with tempfile.TemporaryDirectory(prefix="pytuck-bench-probe-") as folder:
                storage = open_storage(name, engine_location(name, Path(folder), dsn), schema)
                persistent = storage.engine.capabilities.persistent
                storage.close()
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot run here"
            skipped[name] = f"{type(exc).__name__}: {exc}"
            continue
        finally:
            if schema and dsn:
                with contextlib.suppress(Exception):
                    drop_schema(dsn, schema)
        usable[name] = engine_class(name, persistent)
    return usable, skipped


def declare_user(storage: Storage) -> Any:
    """Declare the benchmark's ``User`` model on ``storage`` (as users write it)."""
    base: Any = declarative_base(storage)

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

    return User


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
        self.dsn = dsn
        self.schema = schema_name(f"pytuck_{engine}") if engine == "postgresql" else None
        if self.schema:
            self.notes += "; its tables in a schema of its own, dropped at the end"

    def open(self) -> None:
        """Open the storage (PostgreSQL: in a fresh schema), declare the model."""
        self.storage = open_storage(self.engine, self.location, self.schema)
        self.storage_class = engine_class(self.engine, self.storage.engine.capabilities.persistent)
        self.User = declare_user(self.storage)

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
        """Close the storage; on PostgreSQL drop its schema."""
        try:
            self.storage.close()
        finally:
            if self.schema and self.dsn:
                drop_schema(self.dsn, self.schema)


class PytuckStore(FileStore):
    """pytuck on a file engine, for the file suite: ``Storage(path, engine=...)``, the model,
    one ``Session``; each insert is ``session.add(User(**row)); session.commit()``.

    Args:
        variant: the engine name (``binary``, ``json``, or any file engine).
    """

    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.engine = variant
        self.label = f"pytuck:{variant}"
        self.suffix = _SUFFIX.get(variant, ".db")
        self.notes = (
            f"Storage(path, engine={variant!r}) with its defaults (auto_flush=True: a commit returns "
            "once durable), the User model declared on open, one Session; bulk build via "
            "session.add_all + commit, then close"
        )

    def build(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """``session.add_all([User(**row) ...]); session.commit()``, then ``storage.close()``."""
        storage = Storage(str(path), engine=self.engine)
        User = declare_user(storage)
        with Session(storage) as session:
            session.add_all([User(**row) for row in rows])
            session.commit()
        storage.close()

    def open(self, path: Path) -> None:
        """``Storage(path, engine=...)``, declare ``User``, open a ``Session``."""
        self.storage = Storage(str(path), engine=self.engine)
        self.User = declare_user(self.storage)
        self.session = Session(self.storage)

    def insert_one(self, row: dict[str, Any]) -> None:
        """``session.add(User(**row)); session.commit()``."""
        self.session.add(self.User(**row))
        self.session.commit()

    def get(self, key: int) -> dict[str, Any] | None:
        """``session.get(User, key)``, as a dict of its columns."""
        user = self.session.get(self.User, key)
        if user is None:
            return None
        return {"id": user.id, "name": user.name, "email": user.email, "age": user.age, "city": user.city}

    def count(self) -> int:
        """``session.query(User).count()``."""
        return int(self.session.query(self.User).count())

    def close(self) -> None:
        """Close the session and the storage."""
        self.session.close()
        self.storage.close()

    def versions(self) -> dict[str, str]:
        """pytuck's version and the digest of the source this process imported."""
        return {"pytuck": pytuck.__version__, "source digest": _IMPORTED_SOURCE}
