"""The SQL compiler: expression trees and statements -> parameterised SQL, cached per shape.

One compiler serves every SQL engine; a :class:`~pytuck.engines.sql.dialect.Dialect`
renders what differs. The semantics mirror the memory engine's executor
(``pytuck/engines/memory/executor.py``), the oracle: three-valued logic,
``in_([])`` false for every row, LIKE with ``\\`` escaping, ``/`` true
division, ``//`` and ``%`` as in Python, division by zero NULL, NULL placement
in ORDER BY.

Caching (DESIGN.md, Performance shape): a statement's *shape* is its tree with
every literal value taken out (types and ``in_()`` lengths stay in). The
first statement of a shape is rendered once into a :class:`Compiled`; later
statements of that shape only walk their tree to collect literal values,
building tuples but no strings.

Values always travel as bound parameters. While rendering, each literal is a
marker (``\\x00<n>\\x00``) in the SQL text, so hooks may repeat or move
fragments; the finished text replaces the markers, in order, by the dialect's
placeholders and records which literal feeds each one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pytuck.engines.sql.dialect import PARAMETER_MARK, Adapter, Dialect, Operand
from pytuck.errors import QueryError, UnsupportedOperationError
from pytuck.query.expressions import (
    Arithmetic,
    Between,
    BoolOp,
    ColumnRef,
    Comparison,
    Expression,
    FunctionCall,
    InList,
    IsNull,
    Label,
    Like,
    Literal,
    Not,
    Ordering,
)
from pytuck.query.statements import Delete, Select, Update
from pytuck.schema import TableSchema

__all__ = ["Compiler", "Compiled", "like_pattern", "CACHE_SIZE"]

#: Compiled statements kept per engine; past this the cache starts afresh.
CACHE_SIZE = 2048

_COMPARISON_SQL = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_NUMBERS = (int, float)


def like_pattern(pattern: str) -> str:
    """The pattern as SQL LIKE must see it to match as the memory engine does.

    The memory engine reads a trailing lone ``\\`` as a literal backslash;
    SQL's LIKE ... ESCAPE would reject or mismatch it, so it is doubled.
    """
    if not pattern.endswith("\\"):
        return pattern
    escaped = False
    for char in pattern:
        escaped = not escaped if char == "\\" else False
    return pattern + "\\" if escaped else pattern


class Compiled:
    """One rendered statement shape.

    Attributes:
        sql: the SQL text with the dialect's placeholders.
        slots: for each placeholder, in order, the index of the literal it binds.
        adapters: per literal index, the driver adapter of its value (or None).
        converters: per output column of a SELECT, the adapter from driver values.
    """

    __slots__ = ("sql", "slots", "adapters", "converters")

    def __init__(
        self,
        sql: str,
        slots: tuple[int, ...],
        adapters: tuple[Adapter, ...],
        converters: tuple[Adapter, ...] = (),
    ) -> None:
        self.sql = sql
        self.slots = slots
        self.adapters = adapters
        self.converters = converters

    def parameters(self, literals: Sequence[Any]) -> list[Any]:
        """The driver parameters for one statement's literal values."""
        values = []
        adapters = self.adapters
        for index in self.slots:
            value = literals[index]
            adapt = adapters[index]
            values.append(value if value is None or adapt is None else adapt(value))
        return values

    def convert(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Turn driver rows of a SELECT into rows of Python values of each column's type."""
        converters = self.converters
        if not any(converters):
            return rows  # drivers hand rows over as tuples already
        pairs = [(i, c) for i, c in enumerate(converters) if c is not None]
        out = []
        for row in rows:
            values = list(row)
            for i, convert in pairs:
                value = values[i]
                if value is not None:
                    values[i] = convert(value)
            out.append(tuple(values))
        return out

    def __repr__(self) -> str:
        return f"<Compiled {self.sql!r}>"


# --- shapes: the tree without its literal values ------------------------------------


def _shape(expr: Expression, literals: list[Any]) -> Any:
    """The hashable shape of ``expr``; its literal values are appended to ``literals``."""
    if isinstance(expr, ColumnRef):
        return (ColumnRef, expr.name, expr.type)
    if isinstance(expr, Literal):
        literals.append(expr.value)
        return (Literal, expr.value_type)
    if isinstance(expr, Comparison):
        return (Comparison, expr.op, _shape(expr.left, literals), _shape(expr.right, literals))
    if isinstance(expr, BoolOp):
        return (BoolOp, expr.op, tuple(_shape(c, literals) for c in expr.clauses))
    if isinstance(expr, Not):
        return (Not, _shape(expr.clause, literals))
    if isinstance(expr, IsNull):
        return (IsNull, expr.negate, _shape(expr.operand, literals))
    if isinstance(expr, InList):
        operand = _shape(expr.operand, literals)
        return (InList, expr.negate, operand, tuple(_shape(v, literals) for v in expr.values))
    if isinstance(expr, Between):
        operand = _shape(expr.operand, literals)
        low = _shape(expr.low, literals)
        return (Between, operand, low, _shape(expr.high, literals))
    if isinstance(expr, Like):
        operand = _shape(expr.operand, literals)
        return (Like, expr.case_insensitive, operand, _shape(expr.pattern, literals))
    if isinstance(expr, Arithmetic):
        left = _shape(expr.left, literals)
        return (Arithmetic, expr.op, expr.result_type, left, _shape(expr.right, literals))
    if isinstance(expr, FunctionCall):
        args = tuple(_shape(a, literals) for a in expr.args)
        return (FunctionCall, expr.name, expr.distinct, expr.result_type, args)
    if isinstance(expr, Label):
        return (Label, expr.name, _shape(expr.element, literals))
    return (type(expr), id(expr))  # unknown nodes: never shared, and refused when rendered


def _optional_shape(expr: Expression | None, literals: list[Any]) -> Any:
    return None if expr is None else _shape(expr, literals)


class _Shaped:
    """One expression's shape with its own literal values, to find equal terms."""

    __slots__ = ("shape", "values")

    def __init__(self, expr: Expression) -> None:
        while isinstance(expr, Label):  # a label names a term, it does not change it
            expr = expr.element
        values: list[Any] = []
        self.shape = _shape(expr, values)
        # Python's == says 1 == 1.0 == True; equal terms must also bind alike.
        self.values = [(type(v), v) for v in values]

    def same(self, other: _Shaped) -> bool:
        return self.shape == other.shape and self.values == other.values


def _literal_key(value: Any) -> Any:
    """A hashable stand-in for a literal value (documents are lists and dicts)."""
    try:
        hash(value)
    except TypeError:
        return (type(value), repr(value))
    return (type(value), value)


def _distinct_order_items(statement: Select[Any]) -> tuple[int, ...]:
    """For a DISTINCT query, the select item each ORDER BY term repeats (-1: none),
    by shape and literal values: SQL wants such terms written as the item's position."""
    if not (statement.is_distinct and statement.order_terms):
        return ()
    items = [_Shaped(c) for c in statement.columns]
    orders = [_Shaped(o.element) for o in statement.order_terms]
    return tuple(
        next((i for i, item in enumerate(items) if order.same(item)), -1) for order in orders
    )


def _grouped_values(statement: Select[Any]) -> tuple[Any, ...]:
    """A grouped query's literal values outside WHERE, which decide where group
    terms repeat (see :meth:`_Renderer.value`), so they belong to its shape."""
    if not statement.group_terms:
        return ()
    values: list[Any] = []
    for expr in (*statement.columns, *statement.group_terms, *(o.element for o in statement.order_terms)):
        _shape(expr, values)
    if statement.having_clause is not None:
        _shape(statement.having_clause, values)
    return tuple(_literal_key(v) for v in values)


def _select_shape(statement: Select[Any], literals: list[Any]) -> Any:
    table = statement.table
    columns = tuple(_shape(c, literals) for c in statement.columns)
    where = _optional_shape(statement.where_clause, literals)
    groups = tuple(_shape(g, literals) for g in statement.group_terms)
    having = _optional_shape(statement.having_clause, literals)
    orders = tuple(
        (_shape(o.element, literals), o.descending, o.nulls_go_first) for o in statement.order_terms
    )
    matches = (_distinct_order_items(statement), _grouped_values(statement))
    limited = statement.limit_count is not None
    if limited:
        literals.append(statement.limit_count)
    offset = statement.offset_count != 0
    if offset:
        literals.append(statement.offset_count)
    return (
        Select, table.name, columns, where, groups, having, orders,
        limited, offset, statement.is_distinct, statement.is_aggregate, matches,
    )


def _update_shape(statement: Update, literals: list[Any]) -> Any:
    assignments = tuple((name, _shape(expr, literals)) for name, expr in statement.assignments)
    return (Update, statement.table.name, assignments, _optional_shape(statement.where_clause, literals))


def _delete_shape(statement: Delete, literals: list[Any]) -> Any:
    return (Delete, statement.table.name, _optional_shape(statement.where_clause, literals))


# --- rendering ------------------------------------------------------------------------


def _exact_decimal(adapt: Adapter) -> Callable[[Any], Any]:
    # Python compares Decimal with int and float exactly; binding the number as
    # the exact Decimal it equals lets the database compare it exactly too.
    if adapt is None:
        return Decimal
    return lambda value: adapt(Decimal(value))


def _then(first: Callable[[Any], Any], adapt: Adapter) -> Callable[[Any], Any]:
    if adapt is None:
        return first
    return lambda value: adapt(first(value))


def _flatten(expr: BoolOp) -> list[Expression]:
    """The clauses of ``expr`` with nested BoolOps of the same operator spliced in, in order."""
    out: list[Expression] = []
    for clause in expr.clauses:
        if isinstance(clause, BoolOp) and clause.op == expr.op:
            out.extend(_flatten(clause))
        else:
            out.append(clause)
    return out


class _Renderer:
    """Renders one statement shape; literal markers are numbered in walk order."""

    def __init__(self, dialect: Dialect, first_literal: int = 0) -> None:
        self.dialect = dialect
        # Literal numbers start at ``first_literal`` (the adapters before it are
        # placeholders for literals another renderer numbers).
        self.adapters: list[Adapter] = [None] * first_literal
        #: In a grouped query: each GROUP BY term with its SQL, whose literal
        #: markers are the group term's own. A select item, HAVING or ORDER BY
        #: sub-expression equal to one is written as that SQL, so the database
        #: sees the very expression it grouped by (PostgreSQL compares them
        #: textually, parameters included).
        self.group_aliases: list[tuple[_Shaped, str]] = []

    # literals are numbered in the order the shape walk meets them: every
    # render method visits children in exactly the order of _shape.
    def literal(self, node: Literal[Any]) -> Operand:
        """A marker for a literal bound with its type's driver adapter."""
        tp = node.value_type
        return self.bound(node, None if tp is None else self.dialect.to_driver(tp))

    def bound(self, node: Literal[Any], adapter: Adapter) -> Operand:
        """A marker for a literal bound through ``adapter``."""
        index = len(self.adapters)
        self.adapters.append(adapter)
        return Operand(f"{PARAMETER_MARK}{index}{PARAMETER_MARK}", node.value_type, None, True)

    def value(self, expr: Expression, aggregates: bool) -> Operand:
        """Render ``expr``; ``aggregates`` says whether aggregate functions are allowed."""
        if self.group_aliases and not isinstance(expr, Literal):
            shaped = _Shaped(expr)
            for group, sql in self.group_aliases:
                if shaped.same(group):
                    aliases, self.group_aliases = self.group_aliases, []
                    try:
                        own = self.value(expr, aggregates)  # numbers (and drops) its own literals
                    finally:
                        self.group_aliases = aliases
                    return Operand(sql, own.type, own.column, False)
        return self._value(expr, aggregates)

    def _value(self, expr: Expression, aggregates: bool) -> Operand:
        dialect = self.dialect
        if isinstance(expr, ColumnRef):
            return Operand(dialect.quote(expr.name), expr.type, expr.column)
        if isinstance(expr, Literal):
            return self.literal(expr)
        if isinstance(expr, Comparison):
            left, right = self.pair(expr.left, expr.right, aggregates)
            return Operand(f"({dialect.comparison(_COMPARISON_SQL[expr.op], left, right)})", bool)
        if isinstance(expr, BoolOp):
            # Nested ANDs (ORs) are one flat list: SQLite's parser has a fixed
            # stack, so every parenthesis spared lets deeper trees through.
            joiner = " AND " if expr.op == "and" else " OR "
            parts = [self.value(c, aggregates).sql for c in _flatten(expr)]
            return Operand("(" + joiner.join(parts) + ")", bool)
        if isinstance(expr, Not):
            if isinstance(expr.clause, Not):  # NOT NOT x is x, NULL included
                return self.value(expr.clause.clause, aggregates)
            return Operand(f"(NOT {self.value(expr.clause, aggregates).sql})", bool)
        if isinstance(expr, IsNull):
            operand = self.value(expr.operand, aggregates)
            sql = dialect.bound_value(operand) if operand.is_literal else operand.sql
            return Operand(f"({sql} IS {'NOT ' if expr.negate else ''}NULL)", bool)
        if isinstance(expr, InList):
            return self.in_list(expr, aggregates)
        if isinstance(expr, Between):
            operand = self.value(expr.operand, aggregates)
            low = self.against(expr.low, operand, aggregates)
            high = self.against(expr.high, operand, aggregates)
            operand = self.promoted(operand, low, high)
            first = dialect.comparison(">=", operand, low)
            second = dialect.comparison("<=", operand, high)
            return Operand(f"({first} AND {second})", bool)
        if isinstance(expr, Like):
            operand = self.value(expr.operand, aggregates)
            if isinstance(expr.pattern, Literal):
                pattern = self.bound(expr.pattern, _then(like_pattern, dialect.to_driver(str)))
            else:
                pattern = self.value(expr.pattern, aggregates)
            return Operand(f"({dialect.like(operand, pattern, expr.case_insensitive)})", bool)
        if isinstance(expr, Arithmetic):
            left = self.value(expr.left, aggregates)
            right = self.value(expr.right, aggregates)
            return Operand(dialect.arithmetic(expr.op, left, right, expr.result_type), expr.result_type)
        if isinstance(expr, FunctionCall):
            if not aggregates or not expr.is_aggregate:
                raise QueryError(
                    f"{expr.describe()} is an aggregate; use it in select() columns or having(), "
                    "not in where()"
                )
            arg = self.value(expr.args[0], False) if expr.args else None
            sql = dialect.aggregate(expr.name, arg, expr.distinct, expr.result_type)
            return Operand(sql, expr.result_type)
        if isinstance(expr, Label):
            inner = self.value(expr.element, aggregates)
            return Operand(inner.sql, inner.type, inner.column, inner.is_literal)
        raise UnsupportedOperationError(
            f"the SQL engines cannot compile {type(expr).__name__} nodes yet"
        )

    def against(self, expr: Expression, other: Operand, aggregates: bool) -> Operand:
        """Render ``expr`` compared with ``other``: a number literal facing a
        Decimal is bound as the exact Decimal it equals."""
        if (
            isinstance(expr, Literal)
            and other.type is Decimal
            and expr.value_type in _NUMBERS
        ):
            operand = self.bound(expr, _exact_decimal(self.dialect.to_driver(Decimal)))
            return operand._replace(type=Decimal)
        return self.value(expr, aggregates)

    def promoted(self, operand: Operand, *others: Operand) -> Operand:
        """``operand`` rebound as an exact Decimal when it is a number literal facing Decimals.

        The literal was rendered before its partners were known: its marker
        keeps its place, only the adapter that binds its value changes.
        """
        if operand.is_literal and operand.type in _NUMBERS and any(o.type is Decimal for o in others):
            index = int(operand.sql.strip(PARAMETER_MARK))
            self.adapters[index] = _exact_decimal(self.dialect.to_driver(Decimal))
            return operand._replace(type=Decimal)
        return operand

    def pair(self, left: Expression, right: Expression, aggregates: bool) -> tuple[Operand, Operand]:
        """Both sides of a comparison, literals facing a Decimal made exact."""
        if isinstance(left, Literal) and left.value_type in _NUMBERS and right.type is Decimal:
            first = self.bound(left, _exact_decimal(self.dialect.to_driver(Decimal)))
            return first._replace(type=Decimal), self.value(right, aggregates)
        first = self.value(left, aggregates)
        return first, self.against(right, first, aggregates)

    def in_list(self, expr: InList, aggregates: bool) -> Operand:
        operand = self.value(expr.operand, aggregates)
        if not expr.values:
            # in_([]) is false for every row, NULL included; not_in([]) true for all.
            return Operand(self.dialect.boolean_constant(expr.negate), bool)
        values = [self.against(v, operand, aggregates) for v in expr.values]
        operand = self.promoted(operand, *values)
        return Operand(f"({self.dialect.in_list(operand, values, expr.negate)})", bool)

    def condition(self, expr: Expression | None, aggregates: bool = False) -> str | None:
        return None if expr is None else self.value(expr, aggregates).sql


def _finish(dialect: Dialect, text: str, adapters: list[Adapter], converters: tuple[Adapter, ...] = ()) -> Compiled:
    """Replace literal markers by placeholders, recording which literal feeds each."""
    pieces = text.split(PARAMETER_MARK)
    sql_parts = [pieces[0]]
    slots: list[int] = []
    numbered: dict[int, str] = {}  # literal -> its placeholder, where a number can repeat
    for position in range(1, len(pieces), 2):
        literal = int(pieces[position])
        placeholder = numbered.get(literal) if dialect.numbered_placeholders else None
        if placeholder is None:
            slots.append(literal)
            placeholder = dialect.placeholder(len(slots))
            numbered[literal] = placeholder
        sql_parts.append(placeholder)
        sql_parts.append(pieces[position + 1])
    return Compiled("".join(sql_parts), tuple(slots), tuple(adapters), converters)


class Compiler:
    """Compiles statements for one dialect and caches them per shape.

    Example::

        compiled, literals = compiler.select(select(User).where(User.age > 30))
        rows = compiled.convert(connection.fetch(compiled.sql, compiled.parameters(literals)))
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._cache: dict[Any, Compiled] = {}
        self._plain: dict[tuple[str, str, tuple[str, ...]], str] = {}

    def _cached(self, shape: Any, build: Callable[[], Compiled]) -> Compiled:
        compiled = self._cache.get(shape)
        if compiled is None:
            compiled = build()
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[shape] = compiled
        return compiled

    # --- statements ---
    def select(self, statement: Select[Any]) -> tuple[Compiled, list[Any]]:
        """The compiled SELECT and its literal values."""
        literals: list[Any] = []
        shape = _select_shape(statement, literals)
        return self._cached(shape, lambda: self._render_select(statement)), literals

    def update(self, statement: Update) -> tuple[Compiled, list[Any]]:
        """The compiled UPDATE and its literal values."""
        literals: list[Any] = []
        shape = _update_shape(statement, literals)
        return self._cached(shape, lambda: self._render_update(statement)), literals

    def delete(self, statement: Delete) -> tuple[Compiled, list[Any]]:
        """The compiled DELETE and its literal values."""
        literals: list[Any] = []
        shape = _delete_shape(statement, literals)
        return self._cached(shape, lambda: self._render_delete(statement)), literals

    def _render_select(self, statement: Select[Any]) -> Compiled:
        dialect = self.dialect
        renderer = _Renderer(dialect)
        aggregate = statement.is_aggregate
        order_item = _distinct_order_items(statement)
        if statement.group_terms and dialect.repeat_group_terms:
            renderer.group_aliases = self._group_aliases(statement)
        items = []
        converters: list[Adapter] = []
        for column in statement.columns:
            operand = renderer.value(column, aggregate)
            item = dialect.bound_value(operand) if operand.is_literal else operand.sql
            items.append(dialect.distinct_item(operand._replace(sql=item)) if statement.is_distinct else item)
            tp = column.type
            converters.append(None if tp is None else dialect.from_driver(tp))
        sql = [
            "SELECT DISTINCT " if statement.is_distinct else "SELECT ",
            ", ".join(items),
            " FROM ",
            dialect.quote(statement.table.name),
        ]
        aliases, renderer.group_aliases = renderer.group_aliases, []
        where = renderer.condition(statement.where_clause)
        if where is not None:
            sql.append(f" WHERE {where}")
        if statement.group_terms:
            terms = [dialect.group_term(renderer.value(g, False)) for g in statement.group_terms]
            sql.append(" GROUP BY " + ", ".join(terms))
        renderer.group_aliases = aliases
        having = renderer.condition(statement.having_clause, aggregates=True)
        if having is not None:
            sql.append(f" HAVING {having}")
        if statement.order_terms:
            orders = []
            for index, ordering in enumerate(statement.order_terms):
                term = self._order(renderer, ordering, aggregate)  # numbers its literals
                if order_item and order_item[index] >= 0:
                    item_position = Operand(str(order_item[index] + 1), None)
                    term = dialect.order_term(item_position, ordering.descending, ordering.nulls_go_first)
                orders.append(term)
            sql.append(" ORDER BY " + ", ".join(orders))
        renderer.group_aliases = []
        limit = offset = None
        if statement.limit_count is not None:
            limit = renderer.literal(Literal(statement.limit_count, int)).sql
        if statement.offset_count:
            offset = renderer.literal(Literal(statement.offset_count, int)).sql
        if limit is not None or offset is not None:
            sql.append(" " + dialect.limit_offset(limit, offset))
        return _finish(dialect, "".join(sql), renderer.adapters, tuple(converters))

    def _group_aliases(self, statement: Select[Any]) -> list[tuple[_Shaped, str]]:
        """Each GROUP BY term of ``statement`` with its SQL as GROUP BY will write it
        (same literal numbers: literals are numbered items, WHERE, then groups)."""
        counted: list[Any] = []
        for column in statement.columns:
            _shape(column, counted)
        _optional_shape(statement.where_clause, counted)
        aliases = []
        for group in statement.group_terms:
            first = len(counted)
            _shape(group, counted)
            sql = self.dialect.group_term(_Renderer(self.dialect, first).value(group, False))
            aliases.append((_Shaped(group), sql))
        return aliases

    def _order(self, renderer: _Renderer, ordering: Ordering, aggregate: bool) -> str:
        operand = renderer.value(ordering.element, aggregate)
        return self.dialect.order_term(operand, ordering.descending, ordering.nulls_go_first)

    def _render_update(self, statement: Update) -> Compiled:
        dialect = self.dialect
        renderer = _Renderer(dialect)
        sets = []
        for name, expr in statement.assignments:
            target = statement.table.column(name)
            if isinstance(expr, Literal):
                # A literal is stored as the column's type (as an assignment casts).
                operand = renderer.bound(expr, dialect.to_driver(target.type))
            else:
                operand = renderer.value(expr, False)
            sets.append(f"{dialect.quote(name)} = {dialect.assignment(target, operand)}")
        sql = f"UPDATE {dialect.quote(statement.table.name)} SET {', '.join(sets)}"
        where = renderer.condition(statement.where_clause)
        if where is not None:
            sql += f" WHERE {where}"
        return _finish(dialect, sql, renderer.adapters)

    def _render_delete(self, statement: Delete) -> Compiled:
        dialect = self.dialect
        renderer = _Renderer(dialect)
        sql = f"DELETE FROM {dialect.quote(statement.table.name)}"
        where = renderer.condition(statement.where_clause)
        if where is not None:
            sql += f" WHERE {where}"
        return _finish(dialect, sql, renderer.adapters)

    # --- statements by primary key (the unit of work's reads and writes) ---
    def plain(self, kind: str, table: TableSchema, extra: tuple[str, ...] = ()) -> str:
        """Cached SQL of the engine's own statements on ``table``.

        ``kind`` is ``"get"`` (every column by key), ``"update"`` (set the
        columns named in ``extra`` by key) or ``"delete"`` (by key).
        """
        key = (kind, table.name, extra)
        sql = self._plain.get(key)
        if sql is None:
            sql = self._render_plain(kind, table, extra)
            if len(self._plain) >= CACHE_SIZE:
                self._plain.clear()
            self._plain[key] = sql
        return sql

    def _render_plain(self, kind: str, table: TableSchema, extra: tuple[str, ...]) -> str:
        q = self.dialect.quote
        name = q(table.name)
        key = q(table.primary_key)
        if kind == "get":
            columns = ", ".join(q(c) for c in table.column_names)
            return f"SELECT {columns} FROM {name} WHERE {key} = {self.dialect.placeholder(1)}"
        if kind == "update":
            sets = ", ".join(
                f"{q(column)} = {self.dialect.placeholder(i + 1)}" for i, column in enumerate(extra)
            )
            return f"UPDATE {name} SET {sets} WHERE {key} = {self.dialect.placeholder(len(extra) + 1)}"
        if kind == "delete":
            return f"DELETE FROM {name} WHERE {key} = {self.dialect.placeholder(1)}"
        raise ValueError(f"unknown statement kind {kind!r}")
