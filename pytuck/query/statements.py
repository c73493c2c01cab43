"""Statements: ``select()``, ``insert()``, ``update()`` and ``delete()``.

Statements are immutable and generative: every builder method returns a new
statement. They name what to read or change; engines decide how. A mapped
class (a model) is recognised by its ``__table__`` schema and its
``__pytuck_refs__`` mapping of attribute names to column references, so this
layer needs no import of the model layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

from pytuck.errors import (
    ColumnNotFoundError,
    QueryError,
    UnsupportedOperationError,
    ValidationError,
)
from pytuck.query.expressions import (
    ColumnRef,
    Expression,
    FunctionCall,
    Label,
    Literal,
    Ordering,
    and_,
    require_condition,
)
from pytuck.query.result import Row
from pytuck.schema import TableSchema
from pytuck.types import ConversionFailure, convert_value

__all__ = [
    "Select",
    "Insert",
    "Update",
    "Delete",
    "select",
    "insert",
    "update",
    "delete",
    "is_entity",
    "entity_refs",
    "Entity",
]

T = TypeVar("T")


def is_entity(obj: Any) -> bool:
    """True for a mapped model class."""
    return isinstance(obj, type) and isinstance(getattr(obj, "__table__", None), TableSchema)


def entity_refs(entity: Any) -> Mapping[str, ColumnRef[Any]]:
    """Attribute name -> column reference, in column order, for a model class."""
    refs: Mapping[str, ColumnRef[Any]] = entity.__pytuck_refs__
    return refs


def _attribute(entity: Any, key: str, where: str) -> ColumnRef[Any]:
    refs = entity_refs(entity)
    try:
        return refs[key]
    except KeyError:
        raise ColumnNotFoundError(
            f"{entity.__name__} has no column {key!r} (in {where}); columns: "
            + ", ".join(k for k, r in refs.items() if not r.column.hidden),
            table_name=entity.__table__.name,
            column_name=key,
        ) from None


class Entity:
    """A whole model selected: its columns come back as one instance per row."""

    __slots__ = ("model", "refs")

    def __init__(self, model: Any) -> None:
        self.model = model
        self.refs: tuple[ColumnRef[Any], ...] = tuple(entity_refs(model).values())

    def __repr__(self) -> str:
        return f"<Entity {self.model.__name__}>"


SelectItem = Entity | Expression


def _table_of(expr: Expression) -> TableSchema | None:
    for node in expr.walk():
        if isinstance(node, ColumnRef):
            return node.table
    return None


class Select(Generic[T]):
    """A SELECT statement. Build with :func:`select`.

    Example::

        stmt = select(User).where(User.age >= 18).order_by(User.name).limit(10)
        users = session.execute(stmt).scalars().all()
    """

    __slots__ = (
        "items",
        "_table",
        "entity",
        "where_clause",
        "order_terms",
        "limit_count",
        "offset_count",
        "is_distinct",
        "group_terms",
        "having_clause",
    )

    def __init__(self, items: tuple[SelectItem, ...], table: TableSchema | None = None) -> None:
        if not items:
            raise QueryError("select() needs a model or at least one column")
        found: TableSchema | None = table
        entity: Any = None
        for item in items:
            item_table = (
                item.model.__table__ if isinstance(item, Entity) else _table_of(item)
            )
            if isinstance(item, Entity) and entity is None:
                entity = item.model
            if item_table is None:
                continue
            if found is None:
                found = item_table
            elif item_table is not found and item_table != found:
                raise UnsupportedOperationError(
                    f"select() of columns from tables {found.name!r} and {item_table.name!r}: "
                    "joins are not supported yet (see TODO.md)"
                )
        if entity is None:
            for item in items:
                for node in item.walk() if isinstance(item, Expression) else ():
                    if isinstance(node, ColumnRef) and node.entity is not None:
                        entity = node.entity
                        break
                if entity is not None:
                    break
        self.items = items
        # None until a model or column says which table: select(func.count())
        # learns it from select_from(), where() or group_by().
        self._table = found
        self.entity = entity
        self.where_clause: Expression | None = None
        self.order_terms: tuple[Ordering, ...] = ()
        self.limit_count: int | None = None
        self.offset_count: int = 0
        self.is_distinct = False
        self.group_terms: tuple[Expression, ...] = ()
        self.having_clause: Expression | None = None

    def _copy(self) -> Select[T]:
        new = object.__new__(type(self))
        for name in Select.__slots__:
            object.__setattr__(new, name, getattr(self, name))
        return new

    # --- what the engines read ---
    @property
    def table(self) -> TableSchema:
        """The table read from.

        Raises:
            QueryError: nothing in the statement names a table yet.
        """
        if self._table is None:
            raise QueryError(
                "select() has no table to read from: select a model or one of its columns, "
                "or add select_from(Model)"
            )
        return self._table

    @property
    def columns(self) -> tuple[Expression, ...]:
        """Every output expression, entities expanded into their columns."""
        out: list[Expression] = []
        for item in self.items:
            if isinstance(item, Entity):
                out.extend(item.refs)
            else:
                out.append(item)
        return tuple(out)

    @property
    def is_aggregate(self) -> bool:
        """True when rows are folded (GROUP BY, or an aggregate function selected)."""
        if self.group_terms:
            return True
        return any(
            isinstance(node, FunctionCall) and node.is_aggregate
            for item in self.items
            if isinstance(item, Expression)
            for node in item.walk()
        )

    @property
    def single_entity(self) -> Any:
        """The model class when exactly one model (and nothing else) is selected."""
        if len(self.items) == 1 and isinstance(self.items[0], Entity):
            return self.items[0].model
        return None

    # --- builders ---
    def where(self, *conditions: Any) -> Select[T]:
        """Add conditions, all of which must hold (repeated calls AND together)."""
        if not conditions:
            return self
        for condition in conditions:
            require_condition(condition, "where()")
        new = self._copy()
        for condition in conditions:
            new._adopt_table(condition, "where")
        parts = ((self.where_clause,) if self.where_clause is not None else ()) + conditions
        new.where_clause = and_(*parts)
        return new

    filter = where

    def select_from(self, model: Any) -> Select[T]:
        """Name the model read from, for selects of no column: ``select(func.count()).select_from(User)``.

        Raises:
            QueryError: ``model`` is not a model class.
            UnsupportedOperationError: it is another table than the selected columns' (a join).
        """
        if not is_entity(model):
            raise QueryError(f"select_from() takes a model class, got {model!r}")
        new = self._copy()
        new._use_table(model.__table__, "select_from")
        if new.entity is None:
            new.entity = model
        return new

    def _use_table(self, table: TableSchema, where: str) -> None:
        # Only called on a fresh copy: statements stay immutable to callers.
        if self._table is None:
            self._table = table
        elif table is not self._table and table != self._table:
            raise UnsupportedOperationError(
                f"{where}() refers to table {table.name!r} but the select reads "
                f"{self._table.name!r}: joins are not supported yet (see TODO.md)"
            )

    def _adopt_table(self, expr: Expression, where: str) -> None:
        for node in expr.walk():
            if isinstance(node, ColumnRef):
                self._use_table(node.table, where)
                if self.entity is None and node.entity is not None:
                    self.entity = node.entity

    def filter_by(self, **values: Any) -> Select[T]:
        """Equality conditions by attribute name: ``filter_by(name="Ann")``."""
        if self.entity is None:
            raise QueryError("filter_by() needs a selected model")
        conditions = [
            _attribute(self.entity, key, "filter_by") == value for key, value in values.items()
        ]
        return self.where(*conditions)

    def order_by(self, *terms: Any, desc: bool = False) -> Select[T]:
        """Order the rows: ``order_by(User.age.desc(), User.name)``.

        A column name string is accepted too (``order_by("age", desc=True)``),
        as in Pytuck 1.x. ``order_by(None)`` clears the ordering.
        """
        new = self._copy()
        if len(terms) == 1 and terms[0] is None:
            new.order_terms = ()
            return new
        orderings = list(self.order_terms)
        for term in terms:
            if isinstance(term, str):
                term = self._named_column(term, "order_by")
            if isinstance(term, Ordering):
                orderings.append(term)
            elif isinstance(term, Expression):
                orderings.append(Ordering(term, descending=desc))
            else:
                raise QueryError(f"order_by() takes columns or orderings, got {term!r}")
        new.order_terms = tuple(orderings)
        return new

    def _named_column(self, name: str, where: str) -> Expression:
        if self.entity is not None:
            refs = entity_refs(self.entity)
            if name in refs:
                return refs[name]
            for ref in refs.values():
                if ref.column.name == name:
                    return ref
            return _attribute(self.entity, name, where)
        for item in self.items:
            if isinstance(item, Label) and item.name == name:
                return item
        raise ColumnNotFoundError(
            f"{where}: no column {name!r} in table {self.table.name!r}",
            table_name=self.table.name,
            column_name=name,
        )

    def limit(self, count: int | None) -> Select[T]:
        """Return at most ``count`` rows (``None`` removes the limit)."""
        if count is not None and (not isinstance(count, int) or count < 0):
            raise QueryError(f"limit() takes a non-negative int, got {count!r}")
        new = self._copy()
        new.limit_count = count
        return new

    def offset(self, count: int | None) -> Select[T]:
        """Skip the first ``count`` rows."""
        if count is None:
            count = 0
        if not isinstance(count, int) or count < 0:
            raise QueryError(f"offset() takes a non-negative int, got {count!r}")
        new = self._copy()
        new.offset_count = count
        return new

    def distinct(self, flag: bool = True) -> Select[T]:
        """Drop duplicate result rows."""
        new = self._copy()
        new.is_distinct = flag
        return new

    def group_by(self, *terms: Any) -> Select[T]:
        """Fold rows with equal values of ``terms`` into one row each."""
        parts = []
        for term in terms:
            if isinstance(term, str):
                term = self._named_column(term, "group_by")
            if not isinstance(term, Expression):
                raise QueryError(f"group_by() takes columns, got {term!r}")
            parts.append(term)
        new = self._copy()
        for part in parts:
            new._adopt_table(part, "group_by")
        new.group_terms = self.group_terms + tuple(parts)
        return new

    def having(self, *conditions: Any) -> Select[T]:
        """Conditions on the folded rows of :meth:`group_by`."""
        if not conditions:
            return self
        for condition in conditions:
            require_condition(condition, "having()")
        new = self._copy()
        parts = ((self.having_clause,) if self.having_clause is not None else ()) + conditions
        new.having_clause = and_(*parts)
        return new

    def __repr__(self) -> str:
        name = self._table.name if self._table is not None else "?"
        return f"<Select from {name} where={self.where_clause!r}>"


@overload
def select(entity: type[T], /) -> Select[T]: ...


@overload
def select(*columns: Any) -> Select[Row]: ...


def select(*columns: Any) -> Select[Any]:
    """Build a SELECT: ``select(User)`` yields instances, ``select(User.name, User.age)`` rows.

    Raises:
        QueryError: an argument is neither a model nor a column expression.
    """
    items: list[SelectItem] = []
    for column in columns:
        if is_entity(column):
            items.append(Entity(column))
        elif isinstance(column, Expression):
            items.append(column)
        else:
            raise QueryError(
                f"select() takes models and columns, got {column!r} ({type(column).__name__})"
            )
    return Select(tuple(items))


def _require_entity(model: Any, statement: str) -> Any:
    if not is_entity(model):
        raise QueryError(f"{statement}() takes a model class, got {model!r}")
    return model


class Insert:
    """An INSERT of one or many rows. Build with :func:`insert`."""

    __slots__ = ("entity", "table", "rows")

    def __init__(self, entity: Any, rows: tuple[dict[str, Any], ...] = ()) -> None:
        self.entity = entity
        self.table: TableSchema = entity.__table__
        self.rows = rows

    def values(self, *rows: Any, **values: Any) -> Insert:
        """Rows to insert: a dict, keywords, or a list of dicts (attribute names)."""
        collected: list[dict[str, Any]] = list(self.rows)
        for row in rows:
            if isinstance(row, Mapping):
                collected.append(dict(row))
            elif isinstance(row, Iterable) and not isinstance(row, (str, bytes)):
                for item in row:
                    if not isinstance(item, Mapping):
                        raise QueryError(f"insert().values() takes dicts, got {item!r}")
                    collected.append(dict(item))
            else:
                raise QueryError(f"insert().values() takes dicts, got {row!r}")
        if values:
            collected.append(values)
        for row in collected:
            for key in row:
                _attribute(self.entity, key, "insert().values()")
        return Insert(self.entity, tuple(collected))

    def values_list(self, rows: Iterable[Mapping[str, Any]]) -> Insert:
        """Pytuck 1.x spelling of ``values([...])``."""
        return self.values(list(rows))


#: Column type -> the expression types an UPDATE may store in it (engines cast
#: them on assignment, exactly). A float expression never lands in an int column.
_ASSIGNABLE: dict[type, tuple[type, ...]] = {
    float: (float, int, Decimal),
    Decimal: (Decimal, int),
}


def _check_same_table(table: TableSchema, expr: Expression, where: str) -> None:
    for node in expr.walk():
        if isinstance(node, ColumnRef) and node.table is not table and node.table != table:
            raise UnsupportedOperationError(
                f"{where}: {node.describe()} belongs to table {node.table.name!r}, not "
                f"{table.name!r}: statements over several tables are not supported yet"
            )


def _write_conditions(table: TableSchema, conditions: tuple[Any, ...], where: str) -> None:
    for condition in conditions:
        _check_same_table(table, require_condition(condition, where), where)


def _assignment(entity: Any, key: str, value: Any) -> tuple[str, Expression]:
    ref = _attribute(entity, key, "values()")
    if ref.column.primary_key:
        raise QueryError(f"{ref.describe()}: the primary key cannot be changed by update()")
    if isinstance(value, Expression):
        expr = value
        _check_same_table(entity.__table__, expr, "update().values()")
        if expr.type is not None and expr.type not in _ASSIGNABLE.get(ref.type, (ref.type,)):
            hint = "; use // for a whole number" if ref.type is int and expr.type is float else ""
            raise QueryError(
                f"{ref.describe()}: cannot assign {expr.describe()} "
                f"({expr.type.__name__}) to a {ref.type.__name__} column{hint}"
            )
        return ref.column.name, expr
    # A plain value is checked as assigning it to an instance would check it
    # (nullability, strict, validators): the same ValidationError either way.
    column = getattr(entity, "__columns__", {}).get(key)
    if column is not None:
        return ref.column.name, Literal(column.validate(value, entity), ref.type)
    if value is None:
        if not ref.column.nullable:
            raise ValidationError(
                f"{ref.describe()}: None is not allowed (nullable=False)",
                table_name=ref.table.name,
                column_name=key,
            )
        return ref.column.name, Literal(None, ref.type)
    try:
        converted = convert_value(value, ref.type)
    except ConversionFailure as exc:
        raise ValidationError(
            f"{ref.describe()}: {exc.reason}", table_name=ref.table.name, column_name=key
        ) from None
    return ref.column.name, Literal(converted, ref.type)


class Update:
    """An UPDATE of the rows matching a condition. Build with :func:`update`."""

    __slots__ = ("entity", "table", "where_clause", "assignments")

    def __init__(
        self,
        entity: Any,
        where_clause: Expression | None = None,
        assignments: tuple[tuple[str, Expression], ...] = (),
    ) -> None:
        self.entity = entity
        self.table: TableSchema = entity.__table__
        self.where_clause = where_clause
        self.assignments = assignments

    def where(self, *conditions: Any) -> Update:
        """Restrict the rows changed (no where: every row)."""
        _write_conditions(self.table, conditions, "update().where()")
        parts = ((self.where_clause,) if self.where_clause is not None else ()) + conditions
        return Update(self.entity, and_(*parts) if parts else None, self.assignments)

    filter = where

    def filter_by(self, **values: Any) -> Update:
        """Equality conditions by attribute name."""
        return self.where(
            *(_attribute(self.entity, k, "filter_by") == v for k, v in values.items())
        )

    def values(self, values: Mapping[str, Any] | None = None, **more: Any) -> Update:
        """New values by attribute name; a value may be an expression (``User.age + 1``)."""
        merged = dict(values or {})
        merged.update(more)
        if not merged:
            raise QueryError("update().values() needs at least one column")
        assignments = dict(self.assignments)
        for key, value in merged.items():
            name, expr = _assignment(self.entity, key, value)
            assignments[name] = expr
        return Update(self.entity, self.where_clause, tuple(assignments.items()))


class Delete:
    """A DELETE of the rows matching a condition. Build with :func:`delete`."""

    __slots__ = ("entity", "table", "where_clause")

    def __init__(self, entity: Any, where_clause: Expression | None = None) -> None:
        self.entity = entity
        self.table: TableSchema = entity.__table__
        self.where_clause = where_clause

    def where(self, *conditions: Any) -> Delete:
        """Restrict the rows removed (no where: every row)."""
        _write_conditions(self.table, conditions, "delete().where()")
        parts = ((self.where_clause,) if self.where_clause is not None else ()) + conditions
        return Delete(self.entity, and_(*parts) if parts else None)

    filter = where

    def filter_by(self, **values: Any) -> Delete:
        """Equality conditions by attribute name."""
        return self.where(
            *(_attribute(self.entity, k, "filter_by") == v for k, v in values.items())
        )


def insert(model: Any) -> Insert:
    """Build an INSERT for a model: ``insert(User).values(name="Ann")``."""
    return Insert(_require_entity(model, "insert"))


def update(model: Any) -> Update:
    """Build an UPDATE: ``update(User).where(User.id == 1).values(age=32)``."""
    return Update(_require_entity(model, "update"))


def delete(model: Any) -> Delete:
    """Build a DELETE: ``delete(User).where(User.age < 18)``."""
    return Delete(_require_entity(model, "delete"))
