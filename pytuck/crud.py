"""Active Record models and ``declarative_base``.

``declarative_base(storage, crud=True)`` gives models that save themselves:
``User.create(name="Ann")``, ``User.get(1)``, ``user.save()``. Each call runs in
its own short session that commits before returning, so instances come back
detached with their values loaded. This module sits above the session because
it needs one (STYLE.md: Active Record helpers live above the session).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pytuck.model.base import Model, build_base
from pytuck.model.state import STATE_ATTR
from pytuck.query.query import Query
from pytuck.query.result import CursorResult, Result
from pytuck.query.statements import select
from pytuck.session import Session
from pytuck.storage import Storage

__all__ = ["CRUDModel", "declarative_base"]

C = TypeVar("C", bound="CRUDModel")


class _OneShot:
    """Runs each statement in its own session, committed at once."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def execute(self, statement: Any) -> Result[Any] | CursorResult:
        with Session(self.storage) as session:
            result: Result[Any] | CursorResult = session.execute(statement)
            return result

    def get(self, model: Any, pk: Any) -> Any:
        with Session(self.storage) as session:
            return session.get(model, pk)


class CRUDModel(Model):
    """A model with Active Record methods. Derive from ``declarative_base(db, crud=True)``."""

    __abstract__ = True

    @classmethod
    def _pytuck_detached_runner(cls) -> _OneShot:
        return _OneShot(cls.__storage__)

    @classmethod
    def create(cls: type[C], **values: Any) -> C:
        """Make, save and return a new instance."""
        instance = cls(**values)
        instance.save()
        return instance

    @classmethod
    def get(cls: type[C], pk: Any) -> C | None:
        """The instance with primary key ``pk``, or None."""
        found: C | None = _OneShot(cls.__storage__).get(cls, pk)
        return found

    @classmethod
    def filter(cls: type[C], *conditions: Any) -> Query[C]:
        """A query of this model with conditions: ``User.filter(User.age > 30).all()``."""
        return Query(_OneShot(cls.__storage__), select(cls).where(*conditions))

    @classmethod
    def filter_by(cls: type[C], **values: Any) -> Query[C]:
        """A query of this model by attribute equality."""
        return Query(_OneShot(cls.__storage__), select(cls).filter_by(**values))

    @classmethod
    def query(cls: type[C]) -> Query[C]:
        """A query of every row of this model."""
        return Query(_OneShot(cls.__storage__), select(cls))

    @classmethod
    def all(cls: type[C]) -> list[C]:
        """Every row of this model."""
        return cls.query().all()

    @classmethod
    def count(cls) -> int:
        """How many rows this model has."""
        return Query(_OneShot(cls.__storage__), select(cls)).count()

    def save(self) -> None:
        """Insert (if new) or write changed columns, and commit."""
        with Session(type(self).__storage__) as session:
            session.add(self)

    def delete(self) -> None:
        """Delete this row and commit."""
        with Session(type(self).__storage__) as session:
            session.delete(self)

    def refresh(self) -> None:
        """Reload this instance's values from the database."""
        with Session(type(self).__storage__) as session:
            session.add(self)
            session.refresh(self)
            self.__dict__[STATE_ATTR].modified.clear()


def declarative_base(storage: Storage, crud: bool = False, **options: Any) -> type[Model]:
    """A base class for models stored in ``storage``.

    Args:
        storage: where the models' tables live.
        crud: give models Active Record methods (``create``, ``get``, ``save`` ...).

    Example::

        Base = declarative_base(Storage(in_memory=True))

        class User(Base):
            __tablename__ = "users"
            id = Column(int, primary_key=True)
            name = Column(str)

    For code checked by mypy, write the base as a class instead
    (``class Base(Model): __storage__ = db``): mypy cannot subclass a variable.
    """
    if options:
        raise TypeError(f"declarative_base() got unexpected options {sorted(options)}")
    return build_base(storage, CRUDModel if crud else Model)
