"""Interpreting the expression tree over row dicts, with SQL's three-valued logic.

:func:`compile_value` turns a node into a Python function of one row (a dict of
stored column name -> value). Conditions return True, False or None (unknown);
a row matches only when its condition is True, so ``age > 5`` and
``not_(age > 5)`` both skip rows whose age is NULL (DESIGN.md, NULL is SQL NULL).

:func:`run_select` applies a SELECT's where, grouping, ordering, distinct and
limit/offset to candidate rows.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgpack
import orjson

from pytuck.engines.memory.indexes import order_key_for
from pytuck.errors import QueryError, UnsupportedOperationError
from pytuck.query.arithmetic import compute
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
from pytuck.query.statements import Select
from pytuck.types import is_json_type

__all__ = ["compile_value", "compile_assignment", "compile_condition", "run_select", "like_regex"]

Row = dict[str, Any]
RowFn = Callable[[Row], Any]

_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


@lru_cache(maxsize=1024)
def like_regex(pattern: str, fold_case: bool) -> re.Pattern[str]:
    """The regex equal to a LIKE pattern: ``%`` any run, ``_`` one character,
    ``\\`` escapes the next character. ``fold_case`` folds ASCII letters only."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    if escaped:
        parts.append(re.escape("\\"))
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if fold_case else 0)
    return re.compile("".join(parts), flags)


def _normalizer(*exprs: Expression) -> Callable[[Any], Any] | None:
    for expr in exprs:
        key = order_key_for(expr.type)
        if key is not None:
            return key
    return None


def _compile_comparison(expr: Comparison) -> RowFn:
    left = compile_value(expr.left)
    right = compile_value(expr.right)
    compare = _COMPARE[expr.op]
    key = _normalizer(expr.left, expr.right)
    if isinstance(expr.right, Literal) and expr.right.value is not None:
        constant = expr.right.value if key is None else key(expr.right.value)
        if isinstance(expr.left, ColumnRef) and not is_json_type(expr.left.type):
            name = expr.left.name
            if key is None:

                def column_vs_constant(row: Row) -> Any:
                    value = row[name]
                    return None if value is None else compare(value, constant)

                return column_vs_constant

        def left_vs_constant(row: Row) -> Any:
            value = left(row)
            if value is None:
                return None
            return compare(value if key is None else key(value), constant)

        return left_vs_constant

    def general(row: Row) -> Any:
        a = left(row)
        b = right(row)
        if a is None or b is None:
            return None
        if key is not None:
            a, b = key(a), key(b)
        return compare(a, b)

    return general


def _compile_in(expr: InList) -> RowFn:
    if not expr.values:
        # in_([]) is false for every row, NULL included; not_in([]) true for all.
        result = expr.negate
        return lambda row: result
    operand = compile_value(expr.operand)
    key = _normalizer(expr.operand)
    constants = [v for v in expr.values if isinstance(v, Literal)]
    if len(constants) == len(expr.values):
        has_null = any(v.value is None for v in constants)
        members = [v.value if key is None else key(v.value) for v in constants if v.value is not None]
        pool: Any = members
        if expr.operand.type not in (list, dict):
            try:
                pool = frozenset(members)
            except TypeError:  # unhashable documents among the values: compare one by one
                pool = members
        negate = expr.negate

        def in_constants(row: Row) -> Any:
            value = operand(row)
            if value is None:
                return None
            if key is not None:
                value = key(value)
            if value in pool:
                return not negate
            return None if has_null else negate

        return in_constants
    values = [compile_value(v) for v in expr.values]
    negate = expr.negate

    def in_expressions(row: Row) -> Any:
        value = operand(row)
        if value is None:
            return None
        unknown = False
        for fn in values:
            other = fn(row)
            if other is None:
                unknown = True
            elif (key(value) if key else value) == (key(other) if key else other):
                return not negate
        return None if unknown else negate

    return in_expressions


def _compile_like(expr: Like) -> RowFn:
    operand = compile_value(expr.operand)
    fold = expr.case_insensitive
    if isinstance(expr.pattern, Literal):
        if expr.pattern.value is None:
            return lambda row: None
        matcher = like_regex(expr.pattern.value, fold).fullmatch

        def like_constant(row: Row) -> Any:
            value = operand(row)
            return None if value is None else matcher(value) is not None

        return like_constant
    pattern = compile_value(expr.pattern)

    def like_dynamic(row: Row) -> Any:
        value = operand(row)
        text = pattern(row)
        if value is None or text is None:
            return None
        return like_regex(text, fold).fullmatch(value) is not None

    return like_dynamic


def _compile_arithmetic(expr: Arithmetic) -> RowFn:
    left = compile_value(expr.left)
    right = compile_value(expr.right)
    op = expr.op
    result_type = expr.result_type

    def arithmetic(row: Row) -> Any:
        a = left(row)
        b = right(row)
        if a is None or b is None:
            return None
        return compute(op, a, b, result_type)

    return arithmetic


def _compile_bool(expr: BoolOp) -> RowFn:
    parts = [compile_value(c) for c in expr.clauses]
    if expr.op == "and":

        def all_true(row: Row) -> Any:
            unknown = False
            for part in parts:
                value = part(row)
                if value is False:
                    return False
                if value is None:
                    unknown = True
            return None if unknown else True

        return all_true

    def any_true(row: Row) -> Any:
        unknown = False
        for part in parts:
            value = part(row)
            if value is True:
                return True
            if value is None:
                unknown = True
        return None if unknown else False

    return any_true


def compile_value(expr: Expression) -> RowFn:
    """A function of one row that computes ``expr`` (None for NULL/unknown)."""
    if isinstance(expr, ColumnRef):
        if expr.type is not None and is_json_type(expr.type):
            # Stored rows hold JSON documents encoded (see engine.encode_document).
            name = expr.name
            loads = msgpack.unpackb

            def document(row: Row) -> Any:
                stored = row[name]
                return None if stored is None else loads(stored)

            return document
        return operator.itemgetter(expr.name)
    if isinstance(expr, Literal):
        value = expr.value
        return lambda row: value
    if isinstance(expr, Comparison):
        return _compile_comparison(expr)
    if isinstance(expr, IsNull):
        operand = compile_value(expr.operand)
        if expr.negate:
            return lambda row: operand(row) is not None
        return lambda row: operand(row) is None
    if isinstance(expr, InList):
        return _compile_in(expr)
    if isinstance(expr, Between):
        low = Comparison("ge", expr.operand, expr.low)
        high = Comparison("le", expr.operand, expr.high)
        return _compile_bool(BoolOp("and", (low, high)))
    if isinstance(expr, Like):
        return _compile_like(expr)
    if isinstance(expr, Arithmetic):
        return _compile_arithmetic(expr)
    if isinstance(expr, BoolOp):
        return _compile_bool(expr)
    if isinstance(expr, Not):
        inner = compile_value(expr.clause)

        def negation(row: Row) -> Any:
            value = inner(row)
            return None if value is None else not value

        return negation
    if isinstance(expr, Label):
        return compile_value(expr.element)
    if isinstance(expr, FunctionCall):
        raise QueryError(
            f"{expr.describe()} is an aggregate; use it in select() columns or having(), "
            "not in where()"
        )
    raise UnsupportedOperationError(
        f"the memory engine cannot evaluate {type(expr).__name__} nodes yet"
    )


def compile_assignment(expr: Expression, target: type) -> RowFn:
    """:func:`compile_value` for the right side of an UPDATE's ``SET column = expr``.

    The value is stored as the column's type, as SQL engines cast on
    assignment: an int or Decimal expression written into a float column
    gives a float, an int one into a Decimal column a Decimal (DESIGN.md,
    Types: values come back as the column's Python type).
    """
    fn = compile_value(expr)
    cast: Callable[[Any], Any] | None = None
    if target is float and expr.type is not float:
        cast = float
    elif target is Decimal and expr.type is int:
        cast = Decimal
    if cast is None:
        return fn

    def assigned(row: Row) -> Any:
        value = fn(row)
        return None if value is None else cast(value)

    return assigned


def compile_condition(expr: Expression | None) -> Callable[[Row], bool] | None:
    """A predicate true only where ``expr`` is True (None: every row matches)."""
    if expr is None:
        return None
    fn = compile_value(expr)
    return lambda row: fn(row) is True


# --- grouping and aggregates ---------------------------------------------------

Group = list[Row]
GroupFn = Callable[[Group], Any]


def _aggregate(call: FunctionCall[Any]) -> GroupFn:
    name = call.name
    if name == "count" and not call.args:
        return len
    arg = compile_value(call.args[0])
    distinct = call.distinct
    key = order_key_for(call.args[0].type)

    def values_of(group: Group) -> list[Any]:
        values = [v for v in map(arg, group) if v is not None]
        if distinct:
            seen: dict[Any, Any] = {}
            for v in values:
                seen.setdefault(_hashable(v), v)
            values = list(seen.values())
        return values

    if name == "count":
        return lambda group: len(values_of(group))
    if name == "sum":
        def total(group: Group) -> Any:
            values = values_of(group)
            return sum(values) if values else None

        return total
    if name == "avg":
        def mean(group: Group) -> Any:
            values = values_of(group)
            return float(sum(values)) / len(values) if values else None

        return mean
    pick = min if name == "min" else max

    def extreme(group: Group) -> Any:
        values = values_of(group)
        if not values:
            return None
        return pick(values, key=key) if key is not None else pick(values)

    return extreme


def compile_group_value(expr: Expression) -> GroupFn:
    """A function of one group of rows: aggregates fold it, plain columns read its first row."""
    if isinstance(expr, FunctionCall) and expr.is_aggregate:
        return _aggregate(expr)
    if isinstance(expr, Label):
        return compile_group_value(expr.element)
    if not any(isinstance(n, FunctionCall) and n.is_aggregate for n in expr.walk()):
        plain = compile_value(expr)
        return lambda group: plain(group[0]) if group else None
    # An expression over aggregates, e.g. func.count() > 2 or func.sum(x) / 2:
    # evaluate each aggregate once per group, then the expression on the results.
    aggregates: dict[int, GroupFn] = {}
    for node in expr.walk():
        if isinstance(node, FunctionCall) and node.is_aggregate:
            aggregates[id(node)] = _aggregate(node)
    substituted = _substitute(expr, aggregates)
    return substituted


def _substitute(expr: Expression, aggregates: dict[int, GroupFn]) -> GroupFn:
    # Rebuild the node's evaluation with aggregate results injected as a row.
    placeholders = {key: f"\x00agg{index}" for index, key in enumerate(aggregates)}
    rewritten = _rewrite(expr, placeholders)
    row_fn = compile_value(rewritten)

    def evaluate(group: Group) -> Any:
        row = dict(group[0]) if group else {}
        for key, fn in aggregates.items():
            row[placeholders[key]] = fn(group)
        return row_fn(row)

    return evaluate


class _Placeholder(ColumnRef[Any]):
    """A column standing for an aggregate's result inside a group expression."""

    __slots__ = ("slot", "slot_type")

    def __init__(self, slot: str, slot_type: type | None) -> None:
        self.slot = slot
        self.slot_type = slot_type

    @property
    def name(self) -> str:
        return self.slot

    @property
    def type(self) -> Any:
        return self.slot_type

    def describe(self) -> str:
        return self.slot


def _rewrite(expr: Expression, placeholders: dict[int, str]) -> Expression:
    if id(expr) in placeholders:
        return _Placeholder(placeholders[id(expr)], expr.type)
    if isinstance(expr, Comparison):
        return Comparison(expr.op, _rewrite(expr.left, placeholders), _rewrite(expr.right, placeholders))
    if isinstance(expr, Arithmetic):
        return Arithmetic(
            expr.op,
            _rewrite(expr.left, placeholders),
            _rewrite(expr.right, placeholders),
            expr.result_type,
        )
    if isinstance(expr, BoolOp):
        return BoolOp(expr.op, tuple(_rewrite(c, placeholders) for c in expr.clauses))
    if isinstance(expr, Not):
        return Not(_rewrite(expr.clause, placeholders))
    if isinstance(expr, IsNull):
        return IsNull(_rewrite(expr.operand, placeholders), expr.negate)
    if isinstance(expr, Between):
        return Between(
            _rewrite(expr.operand, placeholders),
            _rewrite(expr.low, placeholders),
            _rewrite(expr.high, placeholders),
        )
    if isinstance(expr, InList):
        return InList(
            _rewrite(expr.operand, placeholders),
            tuple(_rewrite(v, placeholders) for v in expr.values),
            expr.negate,
        )
    if isinstance(expr, Label):
        return _rewrite(expr.element, placeholders)
    return expr


# --- ordering, distinct, slicing -------------------------------------------------


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return ("\x00json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    return value


def _sort_key(fn: Callable[[Any], Any], ordering: Ordering) -> Callable[[Any], Any]:
    value_key = order_key_for(ordering.element.type)
    # sorted(reverse=descending) puts big keys first; choose the NULL flag so
    # NULLs land where the ordering says (DESIGN.md, Ordering).
    null_small = ordering.nulls_go_first != ordering.descending
    null_key = (0,) if null_small else (2,)
    present = 1

    def key(item: Any) -> Any:
        value = fn(item)
        if value is None:
            return null_key
        return (present, value_key(value) if value_key is not None else value)

    return key


def sort_items(items: list[Any], orderings: Sequence[Ordering], fns: Sequence[Callable[[Any], Any]]) -> None:
    """Sort ``items`` in place by several orderings (stable, last key first)."""
    for ordering, fn in reversed(list(zip(orderings, fns))):
        items.sort(key=_sort_key(fn, ordering), reverse=ordering.descending)


def run_select(
    statement: Select[Any],
    rows: Iterable[Row],
    presorted: bool = False,
    filtered: bool = False,
) -> list[tuple[Any, ...]]:
    """Apply where, grouping, ordering, distinct and limit/offset; return output tuples.

    ``presorted`` means ``rows`` already come in the statement's order (an
    index walk) and are already filtered; ``filtered`` means they are exactly
    the rows matching the WHERE clause (an exact index plan).
    """
    columns = statement.columns
    if statement.is_aggregate:
        return _run_grouped(statement, rows, filtered or presorted)
    matches = compile_condition(statement.where_clause) if not (presorted or filtered) else None
    selected: list[Row] = [row for row in rows if matches(row)] if matches else list(rows)
    if statement.order_terms and not presorted:
        fns = [compile_value(o.element) for o in statement.order_terms]
        sort_items(selected, statement.order_terms, fns)
    getters = [compile_value(c) for c in columns]
    start = statement.offset_count
    stop = None if statement.limit_count is None else start + statement.limit_count
    if statement.is_distinct:
        seen: set[Any] = set()
        output: list[tuple[Any, ...]] = []
        for row in selected:
            values = tuple(g(row) for g in getters)
            marker = tuple(_hashable(v) for v in values)
            if marker not in seen:
                seen.add(marker)
                output.append(values)
        return output[start:stop]
    window = selected[start:stop]
    if all(isinstance(c, ColumnRef) for c in columns):
        project = column_projection(tuple(
            (c.name, c.type is not None and is_json_type(c.type))  # type: ignore[attr-defined]
            for c in columns
        ))
        return list(map(project, window))
    return [tuple(g(row) for g in getters) for row in window]


@lru_cache(maxsize=512)
def column_projection(columns: tuple[tuple[str, bool], ...]) -> Callable[[Row], tuple[Any, ...]]:
    """A function building the output tuple of one stored row, generated once per column list.

    ``columns`` holds (stored name, is a JSON document) pairs. Documents are
    decoded from their stored bytes. Names enter the generated source only
    through ``repr``, which always yields a valid string literal.
    """
    parts = []
    for name, is_document in columns:
        if is_document:
            parts.append(f"(None if (v := row[{name!r}]) is None else loads(v))")
        else:
            parts.append(f"row[{name!r}]")
    source = f"lambda row: ({', '.join(parts)},)"
    project: Callable[[Row], tuple[Any, ...]] = eval(source, {"loads": msgpack.unpackb})  # noqa: S307
    return project


def _run_grouped(
    statement: Select[Any], rows: Iterable[Row], filtered: bool = False
) -> list[tuple[Any, ...]]:
    matches = None if filtered else compile_condition(statement.where_clause)
    selected = [row for row in rows if matches(row)] if matches else list(rows)
    groups: list[Group]
    if statement.group_terms:
        key_fns = [compile_value(term) for term in statement.group_terms]
        buckets: dict[Any, Group] = {}
        plain = not any(t.type is not None and is_json_type(t.type) for t in statement.group_terms)
        if len(key_fns) == 1 and plain:
            # One plain group term: its value is the bucket key (no tuple per row).
            key_fn = key_fns[0]
            for row in selected:
                value = key_fn(row)
                bucket = buckets.get(value)
                if bucket is None:
                    buckets[value] = [row]
                else:
                    bucket.append(row)
        else:
            for row in selected:
                marker = tuple(_hashable(fn(row)) for fn in key_fns)
                buckets.setdefault(marker, []).append(row)
        groups = list(buckets.values())
    else:
        groups = [selected]  # an aggregate over no rows still yields one row
    if statement.having_clause is not None:
        having = compile_group_value(statement.having_clause)
        groups = [g for g in groups if having(g) is True]
    if statement.order_terms:
        fns = [compile_group_value(o.element) for o in statement.order_terms]
        sort_items(groups, statement.order_terms, fns)
    getters = [compile_group_value(c) for c in statement.columns]
    output = [tuple(g(group) for g in getters) for group in groups]
    if statement.is_distinct:
        seen: set[Any] = set()
        unique = []
        for values in output:
            marker = tuple(_hashable(v) for v in values)
            if marker not in seen:
                seen.add(marker)
                unique.append(values)
        output = unique
    start = statement.offset_count
    stop = None if statement.limit_count is None else start + statement.limit_count
    return output[start:stop]
