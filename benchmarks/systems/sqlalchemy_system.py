"""SQLAlchemy 2.x ORM on SQLite (pysqlite driver), as its users write it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import JSON, create_engine, func, or_, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from benchmarks.harness import System

__all__ = ["SQLAlchemySystem"]


class _Base(DeclarativeBase):
    pass


class User(_Base):
    """The users table as a SQLAlchemy declarative model."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
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
        storage: ``"memory"`` (``sqlite://``) or ``"file"`` (a database file
            in ``folder``, SQLite defaults: rollback journal, synchronous=FULL).
        folder: a temporary folder for the file.
    """

    def __init__(self, storage: str, folder: Path) -> None:
        self.storage_class = storage
        self.url = "sqlite://" if storage == "memory" else f"sqlite:///{folder / 'sqlalchemy.sqlite'}"
        self.label = "sqlalchemy"
        self.notes = (
            f"SQLAlchemy ORM on SQLite ({'in memory' if storage == 'memory' else 'file'}); "
            "bulk insert via session.add_all + commit; indexes on name and age; "
            "one Session per group repetition"
        )
        self.session: Session | None = None

    def open(self) -> None:
        """Create the engine and the table."""
        self.db = create_engine(self.url)
        _Base.metadata.create_all(self.db)

    def versions(self) -> dict[str, str]:
        """SQLAlchemy's version."""
        return {"sqlalchemy": sqlalchemy.__version__}

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
        """Dispose of the engine."""
        self.db.dispose()
