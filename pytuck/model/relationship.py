"""``Relationship``: load related instances through a foreign-key column.

Direction is inferred as in Pytuck 1.x: when the owning model has the
``foreign_key`` column, the relationship is many-to-one (an instance or None);
otherwise the target has it and the relationship is one-to-many (a list).
Loading is lazy, on first access, through the instance's session; the result
is cached on the instance until it is expired or refreshed.
"""

from __future__ import annotations

from typing import Any, overload

from pytuck.errors import DetachedInstanceError, SchemaError
from pytuck.model.state import STATE_ATTR
from pytuck.query.statements import select

__all__ = ["Relationship"]


class Relationship:
    """A link to another model.

    Args:
        target: the related model class, or its class or table name.
        foreign_key: the attribute holding the key: on the owner for
            many-to-one, on the target for one-to-many.
        back_populates: the name of the reverse relationship (documentation only).
        uselist: force a list (True) or a single instance (False).

    Example::

        class Order(Base):
            __tablename__ = "orders"
            id = Column(int, primary_key=True)
            user_id = Column(int, index=True)
            user = Relationship("users", foreign_key="user_id")

        class User(Base):
            __tablename__ = "users"
            id = Column(int, primary_key=True)
            orders = Relationship("orders", foreign_key="user_id")
    """

    def __init__(
        self,
        target: Any,
        foreign_key: str,
        *,
        back_populates: str | None = None,
        uselist: bool | None = None,
        storage: Any = None,
    ) -> None:
        self.target = target
        self.foreign_key = foreign_key
        self.back_populates = back_populates
        self.uselist = uselist
        self.storage = storage
        self.key = ""
        self.owner: Any = None

    def __set_name__(self, owner: type, key: str) -> None:
        self.key = key
        self.owner = owner

    def resolve_target(self) -> Any:
        """The related model class."""
        if isinstance(self.target, type):
            return self.target
        storage = self.storage or getattr(self.owner, "__storage__", None)
        found = storage.model_named(self.target) if storage is not None else None
        if found is None:
            raise SchemaError(
                f"{self.owner.__name__}.{self.key}: no model named {self.target!r} "
                "(give the class, its name or its table name)"
            )
        return found

    def is_many_to_one(self) -> bool:
        """True when the owner holds the foreign key."""
        return self.foreign_key in self.owner.__columns__

    @overload
    def __get__(self, instance: None, owner: type) -> Relationship: ...

    @overload
    def __get__(self, instance: object, owner: type) -> Any: ...

    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            return self
        state = instance.__dict__.get(STATE_ATTR)
        runner = state.session if state is not None else None
        if runner is None:
            runner = getattr(owner, "_pytuck_detached_runner", lambda: None)()
        if runner is None:
            raise DetachedInstanceError(
                f"{owner.__name__}.{self.key} is not loaded and the instance has no "
                "session; load it inside a session"
            )
        target = self.resolve_target()
        if self.is_many_to_one():
            value = getattr(instance, self.foreign_key)  # reloads an expired instance
            loaded: Any = None if value is None else runner.get(target, value)
            if self.uselist:
                loaded = [] if loaded is None else [loaded]
        else:
            key = getattr(instance, owner.__key_attr__)  # type: ignore[attr-defined]
            if key is None:
                loaded = []
            else:
                column = getattr(target, self.foreign_key)
                loaded = runner.execute(select(target).where(column == key)).scalars().all()
            if self.uselist is False:
                loaded = loaded[0] if loaded else None
        instance.__dict__[self.key] = loaded
        return loaded

    def __repr__(self) -> str:
        return f"Relationship({self.target!r}, foreign_key={self.foreign_key!r})"
