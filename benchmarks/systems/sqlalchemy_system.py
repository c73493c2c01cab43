"""SQLAlchemy 2.x ORM, as its users write it, on the database of each storage class.

* ``memory`` and ``file``: SQLite through the standard library's driver
  (``sqlite://``, or a file with ``journal_mode=WAL`` and ``synchronous=FULL``,
  durable commits, as pytuck's sqlite engine);
* ``duckdb``: a DuckDB file through ``duckdb_engine``;
* ``postgresql``: the server at the run's DSN through psycopg 3
  (``postgresql+psycopg://``), the tables in a schema of its own
  (``search_path``), dropped at the end.

``duckdb_engine`` and ``psycopg`` need not be installed beside pytuck: the
orchestrator runs this adapter in ``--peer-python`` when its own interpreter
lacks them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import JSON, create_engine, event, func, or_, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from benchmarks.harness import System

__all__ = ["SQLAlchemySystem"]


def _wal_full(dbapi_connection: Any, _record: Any) -> None:
    """On each new SQLite file connection: ``journal_mode=WAL``, ``synchronous=FULL``."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class _Base(DeclarativeBase):
    pass


class User(_Base):
    """The users table as a SQLAlchemy declarative model."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(index=True)
    email: Mapped[str]
    age: Mapped[int] = mapped_column(index=True)
    score: Mapped[float]
    active: Mapped[bool]
    city: Mapped[str]
    created_at: Mapped[datetime]
    tags: Mapped[list[str]] = mapped_column(JSON)


class SQLAlchemySystem(System):
    """``Session``, ``session.get``, ``session.scalars(select(User).where(...)).all()``.

    Args:
        storage: ``"memory"`` (``sqlite://``), ``"file"`` (a SQLite file in
            ``folder``, ``journal_mode=WAL``, ``synchronous=FULL``),
            ``"duckdb"`` (a DuckDB file in ``folder``) or ``"postgresql"``.
        folder: a temporary folder for the file.
        dsn: the PostgreSQL DSN (``postgresql://...``), for ``"postgresql"``.
    """

    def __init__(self, storage: str, folder: Path, dsn: str | None = None) -> None:
        self.storage_class = storage
        self.schema: str | None = None
        if storage == "memory":
            self.url, where = "sqlite://", "SQLite in memory"
        elif storage == "file":
            self.url = f"sqlite:///{folder / 'sqlalchemy.sqlite'}"
            where = "a SQLite file (WAL, synchronous=FULL)"
        elif storage == "duckdb":
            self.url, where = f"duckdb:///{folder / 'sqlalchemy.duckdb'}", "a DuckDB file (duckdb_engine)"
        elif storage == "postgresql":
            if not dsn:
                raise ValueError("sqlalchemy on postgresql needs a DSN (--dsn)")
            self.url = "postgresql+psycopg://" + dsn.split("://", 1)[1]
            self.schema = f"bench_sqlalchemy_{secrets.token_hex(4)}"
            where = "PostgreSQL (psycopg 3), its tables in a schema of its own"
        else:
            raise ValueError(f"sqlalchemy has no {storage!r} storage")
        self.label = "sqlalchemy"
        self.notes = (
            f"SQLAlchemy ORM on {where}; bulk insert via session.add_all + commit; indexes on name "
            "and age; one Session per group repetition"
        )
        self.session: Session | None = None

    def open(self) -> None:
        """Create the engine (PostgreSQL: and the schema) and the table."""
        if self.schema is not None:
            admin = create_engine(self.url)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.db = create_engine(self.url, connect_args={"options": f"-csearch_path={self.schema}"})
        else:
            self.db = create_engine(self.url)
        if self.storage_class == "file":
            event.listen(self.db, "connect", _wal_full)
        _Base.metadata.create_all(self.db)

    def versions(self) -> dict[str, str]:
        """SQLAlchemy's version and its driver's."""
        found = {"sqlalchemy": sqlalchemy.__version__}
        if self.storage_class == "postgresql":
            import psycopg

            found["psycopg"] = psycopg.__version__
        elif self.storage_class == "duckdb":
            import duckdb
            import duckdb_engine

            found["duckdb_engine"] = duckdb_engine.__version__
            found["duckdb"] = duckdb.__version__
        return found

    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """``session.add_all([User(**row) ...]); session.commit()``."""
        with Session(self.db) as session:
            session.add_all([User(**row) for row in rows])
            session.commit()

    def begin_group(self) -> None:
        """A fresh session: an empty identity map for each repetition."""
        self.session = Session(self.db)

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
        return [session.get(User, key) for key in keys]

    def by_name(self, name: str) -> list[Any]:
        """``session.scalars(select(User).where(User.name == name)).all()``."""
        return list(self._session().scalars(select(User).where(User.name == name)).all())

    def by_city(self, city: str) -> list[Any]:
        """``session.scalars(select(User).where(User.city == city)).all()``."""
        return list(self._session().scalars(select(User).where(User.city == city)).all())

    def age_between(self, lo: int, hi: int) -> list[Any]:
        """``session.scalars(select(User).where(User.age.between(lo, hi))).all()``."""
        return list(self._session().scalars(select(User).where(User.age.between(lo, hi))).all())

    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """``session.scalars(select(User).where(or_(User.age < age, User.name == name))).all()``."""
        statement = select(User).where(or_(User.age < age, User.name == name))
        return list(self._session().scalars(statement).all())

    def count_by_city(self) -> list[tuple[str, int]]:
        """``session.execute(select(User.city, func.count()).group_by(User.city)).all()``."""
        rows = self._session().execute(select(User.city, func.count()).group_by(User.city)).all()
        return [(row[0], row[1]) for row in rows]

    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """``user = session.get(User, key)``, set two attributes, ``session.commit()``, per row."""
        session = self._session()
        for key, age, score in changes:
            user = session.get(User, key)
            assert user is not None
            user.age = age
            user.score = score
            session.commit()

    def delete_each(self, keys: Sequence[int]) -> None:
        """``session.delete(session.get(User, key)); session.commit()``, per row."""
        session = self._session()
        for key in keys:
            session.delete(session.get(User, key))
            session.commit()

    def ident(self, item: Any) -> int:
        """``user.id``."""
        return int(item.id)

    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` of the existing keys."""
        with Session(self.db) as session:
            statement = select(User.id, User.age, User.score).where(User.id.in_(list(keys)))
            return [(row[0], row[1], row[2]) for row in session.execute(statement)]

    def row_count(self) -> int:
        """``SELECT count(*) FROM users``."""
        with Session(self.db) as session:
            return int(session.scalar(select(func.count()).select_from(User)) or 0)

    def close(self) -> None:
        """Dispose of the engine; on PostgreSQL drop the schema first."""
        try:
            if self.schema is not None:
                with self.db.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            self.db.dispose()
