"""Table and column schemas: the plain data engines create and compare.

A :class:`TableSchema` is what an engine needs to know of a model: stored
column names, types, nullability, keys, indexes and constraints. Models build
one (``Model.__table__``); engines store, reload and compare them, and never
see model classes.

Every table has exactly one primary-key column. A model declared without one
gets a hidden integer column named :data:`ROWID` that the engine assigns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytuck.errors import SchemaError
from pytuck.types import (
    ConversionFailure,
    is_orderable_type,
    type_from_name,
    type_name,
)

__all__ = ["ColumnSchema", "TableSchema", "ROWID", "INDEX_KINDS"]

#: Name of the hidden primary-key column of models declared without one.
ROWID = "_pytuck_rowid"

#: The index kinds a column may ask for.
INDEX_KINDS = ("hash", "sorted")


@dataclass(frozen=True)
class ColumnSchema:
    """One stored column.

    Attributes:
        name: the stored column name.
        type: the Python type of its values (one of :data:`pytuck.types.SUPPORTED_TYPES`).
        nullable: whether NULL is allowed.
        primary_key: whether this is the table's key.
        index: ``None``, ``"hash"`` (equality, ``in_``) or ``"sorted"`` (also ranges, ordering).
        unique: whether values must be distinct (NULLs excepted).
        comment: free text kept with the schema.
        hidden: True for the engine-assigned row id of key-less models.
    """

    name: str
    type: type
    nullable: bool = True
    primary_key: bool = False
    index: str | None = None
    unique: bool = False
    comment: str | None = None
    hidden: bool = False

    @property
    def autoincrement(self) -> bool:
        """An integer primary key is assigned by the engine when left empty."""
        return self.primary_key and self.type is int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (the form file engines store)."""
        return {
            "name": self.name,
            "type": type_name(self.type),
            "nullable": self.nullable,
            "primary_key": self.primary_key,
            "index": self.index,
            "unique": self.unique,
            "comment": self.comment,
            "hidden": self.hidden,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        """Rebuild a column from :meth:`to_dict` output."""
        try:
            tp = type_from_name(data["type"])
        except ConversionFailure as exc:
            raise SchemaError(f"column {data.get('name')!r}: {exc.reason}") from None
        return cls(
            name=data["name"],
            type=tp,
            nullable=bool(data.get("nullable", True)),
            primary_key=bool(data.get("primary_key", False)),
            index=data.get("index"),
            unique=bool(data.get("unique", False)),
            comment=data.get("comment"),
            hidden=bool(data.get("hidden", False)),
        )


@dataclass(frozen=True)
class TableSchema:
    """One stored table: its name, columns (in order) and primary key."""

    name: str
    columns: tuple[ColumnSchema, ...]
    comment: str | None = None
    _by_name: dict[str, ColumnSchema] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise SchemaError(f"table name must be a non-empty string, got {self.name!r}")
        by_name: dict[str, ColumnSchema] = {}
        keys = []
        for column in self.columns:
            if column.name in by_name:
                raise SchemaError(f"table {self.name!r}: column {column.name!r} is declared twice")
            by_name[column.name] = column
            if column.primary_key:
                keys.append(column.name)
            if column.index is not None and column.index not in INDEX_KINDS:
                raise SchemaError(
                    f"{self.name}.{column.name}: index must be True, 'hash' or 'sorted', "
                    f"got {column.index!r}"
                )
            if column.index == "sorted" and not is_orderable_type(column.type):
                raise SchemaError(
                    f"{self.name}.{column.name}: a sorted index needs ordered values; "
                    f"{column.type.__name__} documents have no order"
                )
            if (column.unique or column.primary_key) and not is_orderable_type(column.type):
                raise SchemaError(
                    f"{self.name}.{column.name}: {column.type.__name__} documents cannot be "
                    "a key or unique"
                )
        if len(keys) != 1:
            raise SchemaError(
                f"table {self.name!r} must have exactly one primary-key column, has {keys}"
            )
        object.__setattr__(self, "_by_name", by_name)

    @property
    def primary_key(self) -> str:
        """The stored name of the primary-key column."""
        for column in self.columns:
            if column.primary_key:
                return column.name
        raise AssertionError("unreachable: checked in __post_init__")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Stored column names in declaration order."""
        return tuple(column.name for column in self.columns)

    def has_column(self, name: str) -> bool:
        """True when the table has a column stored under ``name``."""
        return name in self._by_name

    def column(self, name: str) -> ColumnSchema:
        """Return the column stored under ``name``.

        Raises:
            SchemaError: there is no such column (the message lists the columns).
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise SchemaError(
                f"table {self.name!r} has no column {name!r}; columns: "
                + ", ".join(self.column_names)
            ) from None

    def differences(self, stored: TableSchema) -> list[str]:
        """Describe how ``stored`` (what a database holds) differs from ``self``.

        Only what would make rows misread counts: missing or extra columns,
        another type, another primary key, another nullability.
        """
        problems: list[str] = []
        for column in self.columns:
            if not stored.has_column(column.name):
                problems.append(f"column {column.name!r} is missing from the stored table")
                continue
            other = stored.column(column.name)
            if other.type is not column.type:
                problems.append(
                    f"column {column.name!r} is stored as {type_name(other.type)}, "
                    f"the model says {type_name(column.type)}"
                )
            if other.primary_key != column.primary_key:
                problems.append(f"column {column.name!r} differs in being the primary key")
        for column in stored.columns:
            if not self.has_column(column.name) and not column.nullable:
                problems.append(
                    f"stored column {column.name!r} (NOT NULL) is not in the model"
                )
        return problems

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (the form file engines store)."""
        return {
            "name": self.name,
            "comment": self.comment,
            "columns": [column.to_dict() for column in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSchema:
        """Rebuild a table schema from :meth:`to_dict` output."""
        return cls(
            name=data["name"],
            columns=tuple(ColumnSchema.from_dict(c) for c in data["columns"]),
            comment=data.get("comment"),
        )
