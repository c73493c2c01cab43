"""Results of executed statements: rows, instances, scalars and write counts.

A :class:`Result` holds what a SELECT produced, already materialised: model
instances when one model was selected, :class:`Row` tuples otherwise. Write
statements return a :class:`CursorResult` with ``rowcount`` and
``inserted_primary_key``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

from pytuck.errors import MultipleResultsFound, NoResultFound, UnsupportedOperationError

__all__ = ["Row", "Result", "ScalarResult", "CursorResult", "RowCount", "row_class"]

T = TypeVar("T")


class Row(tuple[Any, ...]):
    """A result row: readable by index (``row[0]``), by name (``row.name``,
    ``row["name"]``) and as a mapping (``row._mapping``)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return tuple.__getitem__(self, type(self)._index[name])
        except KeyError:
            raise AttributeError(
                f"row has no column {name!r}; columns: {', '.join(self._fields)}"
            ) from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, type(self)._index[key])
            except KeyError:
                raise KeyError(
                    f"row has no column {key!r}; columns: {', '.join(self._fields)}"
                ) from None
        return tuple.__getitem__(self, key)

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))

    def _asdict(self) -> dict[str, Any]:
        """The row as a dict of column name to value."""
        return self._mapping

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"Row({inner})"


_ROW_CLASSES: dict[tuple[str, ...], type[Row]] = {}


def row_class(fields: Sequence[str]) -> type[Row]:
    """The :class:`Row` subclass for these column names (cached per name tuple)."""
    key = tuple(fields)
    cls = _ROW_CLASSES.get(key)
    if cls is None:
        index: dict[str, int] = {}
        for position, name in enumerate(key):
            index.setdefault(name, position)
        cls = type("Row", (Row,), {"__slots__": (), "_fields": key, "_index": index})
        _ROW_CLASSES[key] = cls
    return cls


class _Results(Generic[T]):
    __slots__ = ("_items", "_consumed")

    def __init__(self, items: list[T]) -> None:
        self._items = items

    def all(self) -> list[T]:
        """Every result, as a list."""
        return list(self._items)

    def first(self) -> T | None:
        """The first result, or None when there is none."""
        return self._items[0] if self._items else None

    def one(self) -> T:
        """Exactly one result.

        Raises:
            NoResultFound: there is none.
            MultipleResultsFound: there is more than one.
        """
        if not self._items:
            raise NoResultFound("one() found no row")
        if len(self._items) > 1:
            raise MultipleResultsFound(f"one() found {len(self._items)} rows, expected one")
        return self._items[0]

    def one_or_none(self) -> T | None:
        """The only result, or None.

        Raises:
            MultipleResultsFound: there is more than one.
        """
        if len(self._items) > 1:
            raise MultipleResultsFound(
                f"one_or_none() found {len(self._items)} rows, expected at most one"
            )
        return self._items[0] if self._items else None

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def fetchall(self) -> list[T]:
        """Alias of :meth:`all`."""
        return self.all()


class ScalarResult(_Results[T]):
    """The first column of each row (or the instances of a one-model select)."""

    __slots__ = ()


class Result(_Results[T]):
    """The rows of a SELECT.

    With one model selected, items are model instances; otherwise
    :class:`Row` tuples.
    """

    __slots__ = ("_scalar_items", "keys_")

    def __init__(self, items: list[T], keys: Sequence[str], scalars: list[Any]) -> None:
        super().__init__(items)
        self._scalar_items = scalars
        self.keys_ = tuple(keys)

    def keys(self) -> tuple[str, ...]:
        """The result's column names."""
        return self.keys_

    def scalars(self) -> ScalarResult[T]:
        """The first column of every row (instances for a one-model select)."""
        return ScalarResult(self._scalar_items)

    def scalar(self) -> Any:
        """The first column of the first row, or None when there are no rows."""
        return self._scalar_items[0] if self._scalar_items else None

    def scalar_one(self) -> Any:
        """The first column of the only row (raises unless exactly one)."""
        return ScalarResult(self._scalar_items).one()

    def mappings(self) -> list[dict[str, Any]]:
        """Rows as dicts of column name to value."""
        out = []
        for item in self._items:
            if isinstance(item, Row):
                out.append(item._mapping)
            else:
                out.append(dict(zip(self.keys_, (item,))))
        return out

    @property
    def rowcount(self) -> RowCount:
        """Number of rows returned (callable too, as in Pytuck 1.x)."""
        return RowCount(len(self._items))


class RowCount(int):
    """An ``int`` that may also be called: Pytuck 1.x code writes ``rowcount()``."""

    def __call__(self) -> int:
        return int(self)


class CursorResult:
    """The outcome of INSERT, UPDATE or DELETE.

    Attributes:
        rowcount: rows written (also callable: ``rowcount()``, as in Pytuck 1.x).
        inserted_primary_key: the key of the (last) inserted row, for INSERT.
        inserted_primary_keys: keys of every inserted row, for INSERT.
    """

    def __init__(self, rowcount: int, inserted_primary_keys: Sequence[Any] = ()) -> None:
        self.rowcount = RowCount(rowcount)
        self.inserted_primary_keys = list(inserted_primary_keys)

    @property
    def inserted_primary_key(self) -> Any:
        """The primary key of the last inserted row, or None."""
        return self.inserted_primary_keys[-1] if self.inserted_primary_keys else None

    def _no_rows(self) -> Any:
        raise UnsupportedOperationError(
            "a write statement returns no rows; read rowcount or inserted_primary_key"
        )

    def all(self) -> Any:
        """Write statements return no rows: raises UnsupportedOperationError."""
        return self._no_rows()

    first = one = one_or_none = scalars = scalar = all

    def __repr__(self) -> str:
        return f"<CursorResult rowcount={int(self.rowcount)}>"
