"""``Column``: one declared attribute of a model, its type, constraints and checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from pytuck.errors import SchemaError, TypeConversionError, ValidationError
from pytuck.query.expressions import ColumnRef
from pytuck.schema import INDEX_KINDS, ColumnSchema
from pytuck.types import SUPPORTED_TYPES, ConversionFailure, convert_value, converter_for

__all__ = ["Column"]

T = TypeVar("T")

_MISSING: Any = object()


class Column(Generic[T]):
    """A model attribute stored as a column.

    Args:
        col_type: the Python type of the values: ``int, float, str, bool, bytes,
            datetime, date, time, timedelta, Decimal, UUID, list, dict``.
        primary_key: this column identifies the row. An ``int`` key left empty
            is assigned by the engine.
        index: ``True`` or ``"hash"`` for an equality index, ``"sorted"`` for
            one that also serves ranges and ordering.
        unique: values must be distinct (NULLs excepted).
        nullable: whether None is allowed.
        default: the value when none is given.
        default_factory: a callable making the value when none is given.
        strict: refuse conversion; only values of ``col_type`` are accepted.
        name: the stored column name, when it differs from the attribute name.
        comment: free text kept with the schema.
        validator: a callable (or list of callables) taking the converted
            value; returning False or raising rejects it.
        foreign_key: ``(table, column)`` this column refers to (metadata,
            used by relationships; not enforced).

    Raises:
        SchemaError: an unsupported type or contradictory options.

    Example::

        class User(Base):
            __tablename__ = "users"
            id = Column(int, primary_key=True)
            email = Column(str, unique=True, nullable=False)
            age = Column(int, index="sorted")
    """

    def __init__(
        self,
        col_type: type[T],
        *,
        primary_key: bool = False,
        index: bool | str = False,
        unique: bool = False,
        nullable: bool = True,
        default: Any = None,
        default_factory: Callable[[], Any] | None = None,
        strict: bool = False,
        name: str | None = None,
        comment: str | None = None,
        validator: Callable[[Any], Any] | Sequence[Callable[[Any], Any]] | None = None,
        foreign_key: tuple[str, str] | None = None,
    ) -> None:
        if col_type not in SUPPORTED_TYPES:
            raise SchemaError(
                f"Column type {col_type!r} is not supported; use one of "
                + ", ".join(t.__name__ for t in SUPPORTED_TYPES)
            )
        if default is not None and default_factory is not None:
            raise SchemaError("Column takes default or default_factory, not both")
        if index is True:
            index_kind: str | None = "hash"
        elif index is False or index is None:
            index_kind = None
        elif index in INDEX_KINDS:
            index_kind = str(index)
        else:
            raise SchemaError(f"Column index must be True, False, 'hash' or 'sorted', got {index!r}")
        if validator is None:
            validators: tuple[Callable[[Any], Any], ...] = ()
        elif callable(validator):
            validators = (validator,)
        else:
            validators = tuple(validator)
        self.type: type = col_type
        self._convert = converter_for(col_type)
        self.primary_key = primary_key
        self.index = index_kind
        self.unique = unique
        self.nullable = nullable and not primary_key
        self.default = default
        self.default_factory = default_factory
        self.strict = strict
        self.name = name
        self.comment = comment
        self.validators = validators
        self.foreign_key = foreign_key
        self.key: str = name or ""
        self.owner_name = "?"
        if default is not None:
            try:
                self.default = convert_value(default, col_type, strict)
            except ConversionFailure as exc:
                raise SchemaError(f"Column default {default!r}: {exc.reason}") from None

    def __set_name__(self, owner: type, key: str) -> None:
        self.key = key
        if self.name is None:
            self.name = key
        self.owner_name = owner.__name__

    def schema(self) -> ColumnSchema:
        """The stored description of this column."""
        return ColumnSchema(
            name=self.name or self.key,
            type=self.type,
            nullable=self.nullable,
            primary_key=self.primary_key,
            index=self.index,
            unique=self.unique,
            comment=self.comment,
        )

    def initial_value(self) -> Any:
        """The value of a new instance that was given none."""
        if self.default_factory is not None:
            return self.default_factory()
        if isinstance(self.default, (list, dict)):
            return type(self.default)(self.default)  # never share a mutable default
        return self.default

    def validate(self, value: Any, model: Any = None) -> Any:
        """Convert and check ``value`` for this column of ``model`` (a model class).

        Raises:
            ValidationError: wrong type, NULL where not allowed, or a validator said no;
                the message names model, column and value, and the error's
                ``table_name`` is the model's table.
        """
        owner = model.__name__ if model is not None else self.owner_name
        table = model.__table__.name if hasattr(model, "__table__") else None
        if value is None:
            if not self.nullable and not self.primary_key:
                raise ValidationError(
                    f"{owner}.{self.key}: None is not allowed (nullable=False)",
                    table_name=table,
                    column_name=self.key,
                )
            return None
        try:
            converted = self._convert(value, self.strict)
        except ConversionFailure as exc:
            raise TypeConversionError(
                f"{owner}.{self.key}: {exc.reason}",
                value=value,
                target_type=self.type,
                table_name=table,
                column_name=self.key,
            ) from None
        for check in self.validators:
            try:
                accepted = check(converted)
            except Exception as exc:  # a validator may signal rejection by raising
                raise ValidationError(
                    f"{owner}.{self.key}: value {converted!r} rejected by validator: {exc}",
                    table_name=table,
                    column_name=self.key,
                ) from exc
            if accepted is False:
                raise ValidationError(
                    f"{owner}.{self.key}: value {converted!r} rejected by validator "
                    f"{getattr(check, '__name__', check)!r}",
                    table_name=table,
                    column_name=self.key,
                )
        return converted

    @overload
    def __get__(self, instance: None, owner: type) -> ColumnRef[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> Any:
        if instance is None:
            refs = getattr(owner, "__pytuck_refs__", None)
            if refs is None or self.key not in refs:
                return self
            return refs[self.key]
        # Column values live in the instance __dict__, which Python reads
        # before this non-data descriptor, so we only get here when the value
        # is missing: the instance was expired and must be reloaded.
        loader = getattr(type(instance), "_pytuck_load_expired", None)
        if loader is None:
            raise AttributeError(self.key)
        return loader(instance, self.key)

    if TYPE_CHECKING:  # assignment is handled by the model's __setattr__

        def __set__(self, instance: object, value: T | None) -> None: ...

    def __repr__(self) -> str:
        return f"Column({self.type.__name__}, name={self.name!r})"
