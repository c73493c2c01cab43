"""Declarative models: the metaclass that turns a class into a stored table.

``class User(Base): __tablename__ = "users"`` collects the class's
:class:`~pytuck.model.column.Column` attributes (mixins included) into a
:class:`~pytuck.schema.TableSchema`, creates the table on the base's storage,
and gives the class what statements need: ``__table__`` and column references
(``User.age`` is a :class:`~pytuck.query.expressions.ColumnRef`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pytuck.errors import ColumnNotFoundError, DetachedInstanceError, SchemaError, ValidationError
from pytuck.model.column import Column
from pytuck.model.relationship import Relationship
from pytuck.model.state import PERSISTENT, STATE_ATTR, TRANSIENT, InstanceState
from pytuck.query.expressions import ColumnRef
from pytuck.schema import ROWID, ColumnSchema, TableSchema

__all__ = ["Model", "ModelMeta", "ModelRegistry", "build_base"]


class ModelRegistry(Protocol):
    """What a storage offers models: a place to create tables and find models."""

    def register_model(self, model: type[Model]) -> TableSchema:
        """Create (or check) the model's table; return the stored schema."""


class ModelMeta(type):
    """Metaclass of models: builds the table schema when a model class is declared."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kw: Any) -> Any:
        cls = super().__new__(mcls, name, bases, namespace, **kw)
        tablename = namespace.get("__tablename__")
        if namespace.get("__abstract__", False) or tablename is None:
            # A base or mixin: no table of its own. Its columns are inherited.
            return cls
        storage = getattr(cls, "__storage__", None)
        if storage is None:
            raise SchemaError(f"model {name} has no storage: derive it from declarative_base(storage)")
        columns = _collect_columns(cls)
        _declare(cls, tablename, columns)
        stored = storage.register_model(cls)
        if stored is not cls.__table__:  # type: ignore[attr-defined]
            _bind_schema(cls, stored)
        return cls


def _collect_columns(cls: type) -> dict[str, Column[Any]]:
    columns: dict[str, Column[Any]] = {}
    for klass in reversed(cls.__mro__):
        for key, value in vars(klass).items():
            if isinstance(value, Column):
                if value.key != key:  # the same Column object bound under two names
                    raise SchemaError(f"{cls.__name__}.{key}: a Column object may be used once")
                columns.pop(key, None)
                columns[key] = value
    if not columns:
        raise SchemaError(f"model {cls.__name__} declares no Column")
    return columns


def _declare(cls: Any, tablename: str, columns: dict[str, Column[Any]]) -> None:
    keys = [key for key, column in columns.items() if column.primary_key]
    if len(keys) > 1:
        raise SchemaError(
            f"model {cls.__name__}: one primary-key column at most, got {keys} "
            "(composite keys are not supported)"
        )
    stored_names: dict[str, str] = {}
    for key, column in columns.items():
        stored = column.name or key
        if stored in stored_names:
            raise SchemaError(
                f"model {cls.__name__}: {key} and {stored_names[stored]} are both stored as {stored!r}"
            )
        if stored == ROWID:
            raise SchemaError(f"model {cls.__name__}: the column name {ROWID!r} is reserved")
        stored_names[stored] = key
    schemas = [column.schema() for column in columns.values()]
    if not keys:
        schemas.insert(0, ColumnSchema(ROWID, int, nullable=False, primary_key=True, hidden=True))
    table = TableSchema(tablename, tuple(schemas), comment=getattr(cls, "__table_comment__", None))
    cls.__columns__ = columns
    cls.__relationships__ = tuple(
        key
        for klass in cls.__mro__
        for key, value in vars(klass).items()
        if isinstance(value, Relationship)
    )
    cls.__primary_key__ = keys[0] if keys else None
    _bind_schema(cls, table)


def _bind_schema(cls: Any, table: TableSchema) -> None:
    refs: dict[str, ColumnRef[Any]] = {}
    by_stored = {column.name: key for key, column in cls.__columns__.items()}
    for schema in table.columns:
        key = by_stored.get(schema.name, schema.name)
        if schema.hidden or key in cls.__columns__:
            refs[key] = ColumnRef(table, schema, key, cls)
    cls.__table__ = table
    cls.__pytuck_refs__ = refs
    cls.__stored_keys__ = tuple(
        (schema.name, by_stored.get(schema.name, schema.name)) for schema in table.columns
    )
    cls.__key_attr__ = cls.__primary_key__ or ROWID
    # What loading a stored row needs, computed once: attribute names in
    # stored column order, and where the key sits among them.
    cls.__attr_keys__ = tuple(key for _, key in cls.__stored_keys__)
    cls.__key_position__ = cls.__attr_keys__.index(cls.__key_attr__)


class Model(metaclass=ModelMeta):
    """Base of every model.

    Derive models from ``declarative_base(storage)``, or, for code that mypy
    checks, from a base class of your own::

        class Base(Model):
            __storage__ = db

        class User(Base):
            __tablename__ = "users"
            id = Column(int, primary_key=True)

    A class without ``__tablename__`` is abstract: a base or a mixin whose
    columns its subclasses inherit.

    Instances are plain objects: column values live in the instance
    ``__dict__``; assignment validates and marks the instance changed.
    """

    __abstract__ = True
    __tablename__: ClassVar[str]
    __table__: ClassVar[TableSchema]
    __columns__: ClassVar[dict[str, Column[Any]]]
    __relationships__: ClassVar[tuple[str, ...]] = ()
    __pytuck_refs__: ClassVar[dict[str, ColumnRef[Any]]]
    __primary_key__: ClassVar[str | None]
    __key_attr__: ClassVar[str]
    __stored_keys__: ClassVar[tuple[tuple[str, str], ...]]
    __attr_keys__: ClassVar[tuple[str, ...]]
    __key_position__: ClassVar[int]
    __storage__: ClassVar[Any]

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        columns = cls.__columns__
        unknown = [key for key in values if key not in columns]
        if unknown:
            raise ColumnNotFoundError(
                f"{cls.__name__} has no column {unknown[0]!r}; columns: {', '.join(columns)}",
                table_name=cls.__table__.name,
                column_name=unknown[0],
            )
        state = InstanceState(TRANSIENT)
        data = self.__dict__
        data[STATE_ATTR] = state
        for key, column in columns.items():
            if key in values:
                value = values[key]
                if value is None and not column.nullable and not column.primary_key:
                    raise ValidationError(
                        f"{cls.__name__}.{key}: None is not allowed (nullable=False)",
                        table_name=cls.__table__.name,
                        column_name=key,
                    )
                data[key] = column.validate(value, cls)
            else:
                data[key] = column.validate(column.initial_value(), cls) if (
                    column.default is not None or column.default_factory is not None
                ) else None
        # The constructor's keywords count as assignments: merge() copies
        # only these from a new instance onto a stored row.
        state.modified.update(values)
        if cls.__primary_key__ is None:
            data[ROWID] = None

    def __setattr__(self, name: str, value: Any) -> None:
        column = type(self).__columns__.get(name)
        if column is None:
            object.__setattr__(self, name, value)
            return
        state: InstanceState | None = self.__dict__.get(STATE_ATTR)
        if column.primary_key and state is not None and state.status == PERSISTENT:
            if self.__dict__.get(name) != value:
                raise ValidationError(
                    f"{type(self).__name__}.{name}: the primary key of a stored row cannot "
                    f"change (it is {state.key!r}); delete and re-add instead",
                    table_name=type(self).__table__.name,
                    column_name=name,
                )
        self.__dict__[name] = column.validate(value, type(self))
        if state is not None:
            if state.expired and state.session is not None:
                state.session._load_expired(self)
                self.__dict__[name] = column.validate(value, type(self))
            state.modified.add(name)
            if state.session is not None:
                state.session._note_dirty(self)

    @classmethod
    def _pytuck_load_expired(cls, instance: Model, key: str) -> Any:
        state: InstanceState | None = instance.__dict__.get(STATE_ATTR)
        if state is None or not state.expired:
            raise AttributeError(key)
        if state.session is None:
            raise DetachedInstanceError(
                f"{cls.__name__}.{key} was expired and the instance has no session to "
                "reload it from; add it to a session or call session.refresh()"
            )
        state.session._load_expired(instance)
        return instance.__dict__[key]

    def to_dict(
        self,
        use_column_names: bool = False,
        include: set[str] | None = None,
        exclude: set[str] | None = None,
    ) -> dict[str, Any]:
        """The column values as a dict (attribute names, or stored names)."""
        out: dict[str, Any] = {}
        for key, column in type(self).__columns__.items():
            if include is not None and key not in include:
                continue
            if exclude is not None and key in exclude:
                continue
            out[(column.name or key) if use_column_names else key] = getattr(self, key)
        return out

    def __repr__(self) -> str:
        cls = type(self)
        data = self.__dict__
        parts = []
        for key in cls.__columns__:
            if key in data:
                text = repr(data[key])
                parts.append(f"{key}={text if len(text) <= 40 else text[:37] + '...'}")
            if len(parts) == 6:
                parts.append("...")
                break
        return f"{cls.__name__}({', '.join(parts)})"


def model_key(instance: Model) -> Any:
    """The primary-key value of an instance (the hidden row id for key-less models)."""
    return instance.__dict__.get(type(instance).__key_attr__)


def build_base(storage: ModelRegistry, base: type[Model] = Model, name: str = "Base") -> type[Model]:
    """A fresh abstract subclass of ``base`` bound to ``storage``."""
    namespace: dict[str, Any] = {"__abstract__": True, "__storage__": storage}
    made: type[Model] = ModelMeta(name, (base,), namespace)
    return made

