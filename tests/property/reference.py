"""A naive, obviously-correct query evaluator: the oracle of the property tests.

It reads the same expression tree the engines read (``pytuck.query.expressions``)
and evaluates it over plain row dicts (stored column name -> value), following
DESIGN.md directly and sharing no code with the engines:

- three-valued logic: a condition is True, False or None (unknown); a row is
  kept only when its condition is True;
- ``col == None`` is already an ``IsNull`` node when built; any other
  comparison with NULL is unknown;
- ``in_([])`` is False for every row, NULL included, ``not_in([])`` True;
- LIKE is case-sensitive, ILIKE folds ASCII letters only; ``%`` is any run,
  ``_`` one character, ``\\`` makes the next character literal;
- ``/`` is true division giving a float, ``//`` floor division (Decimals
  included), division by zero is NULL; a float operand makes a float;
- ordering is a stable multi-key sort; NULL sorts last ascending and first
  descending unless the ordering says otherwise; strings by code point;
- an aware datetime compares as the instant it names; a naive datetime as
  that wall clock in UTC (DESIGN.md is silent on mixing them; this is the
  memory engine's documented reading, so naive and aware values can be
  compared without error).

It is slow on purpose: every rule is spelled out where it is used.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pytuck.query.expressions import (
    Arithmetic,
    Between,
    BoolOp,
    ColumnRef,
    Comparison,
    Expression,
    InList,
    IsNull,
    Label,
    Like,
    Literal,
    Not,
    Ordering,
)

__all__ = ["comparable", "evaluate", "is_match", "like_matches", "order_rows", "run_query"]

Row = dict[str, Any]


# --- three-valued logic -----------------------------------------------------------


def _and(values: Iterable[bool | None]) -> bool | None:
    # False wins over unknown; unknown wins over True.
    result: bool | None = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _or(values: Iterable[bool | None]) -> bool | None:
    # True wins over unknown; unknown wins over False.
    result: bool | None = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


def _not(value: bool | None) -> bool | None:
    if value is None:
        return None
    return not value


# --- comparisons ------------------------------------------------------------------


def comparable(value: Any) -> Any:
    """``value`` as it compares and sorts: aware datetimes become naive UTC."""
    # An aware datetime is the instant it names; a naive one is read as UTC
    # (the memory engine's reading, see the module docstring).
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    a, b = comparable(a), comparable(b)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if op == "lt":
        return bool(a < b)
    if op == "le":
        return bool(a <= b)
    if op == "gt":
        return bool(a > b)
    if op == "ge":
        return bool(a >= b)
    raise AssertionError(f"unknown comparison {op!r}")


def _in_list(value: Any, members: list[Any], negate: bool) -> bool | None:
    if not members:
        # in_([]) is false for every row, NULL included; not_in([]) true.
        return negate
    if value is None:
        return None
    found = False
    unknown = False
    for member in members:
        if member is None:
            unknown = True
        elif comparable(value) == comparable(member):
            found = True
    result: bool | None
    if found:
        result = True
    elif unknown:
        result = None
    else:
        result = False
    return _not(result) if negate else result


# --- LIKE ------------------------------------------------------------------------


def _fold_ascii(text: str) -> str:
    # Only A-Z fold: 'É', 'ß' or the Kelvin sign keep their case.
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _pattern_tokens(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            if position + 1 == len(pattern):
                raise ValueError(f"LIKE pattern {pattern!r} ends with a lone escape")
            tokens.append(("char", pattern[position + 1]))
            position += 2
            continue
        if char == "%":
            tokens.append(("any", ""))
        elif char == "_":
            tokens.append(("one", ""))
        else:
            tokens.append(("char", char))
        position += 1
    return tokens


def like_matches(text: str, pattern: str, fold_ascii: bool) -> bool:
    """Does ``text`` match the LIKE ``pattern``? (dynamic programming, no regex)."""
    if fold_ascii:
        text = _fold_ascii(text)
        pattern = _fold_ascii(pattern)
    tokens = _pattern_tokens(pattern)
    # reachable[i]: the tokens seen so far can match exactly text[:i].
    reachable = [True] + [False] * len(text)
    for kind, char in tokens:
        following = [False] * (len(text) + 1)
        if kind == "any":
            seen = False
            for i in range(len(text) + 1):
                seen = seen or reachable[i]
                following[i] = seen
        else:
            for i in range(len(text)):
                if reachable[i] and (kind == "one" or text[i] == char):
                    following[i + 1] = True
        reachable = following
    return reachable[len(text)]


# --- arithmetic ------------------------------------------------------------------


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(a, float) or isinstance(b, float) or op == "truediv":
        # A float operand makes the result a float, and / always gives a
        # float: the operands become floats first, as SQL's CAST to double does.
        a, b = float(a), float(b)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op in ("truediv", "floordiv", "mod") and b == 0:
        return None  # division by zero is NULL
    if op == "truediv":
        return a / b
    if op == "floordiv":
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            # Floor, exactly (Decimal's own // truncates toward zero).
            return Decimal(math.floor(Fraction(a) / Fraction(b)))
        return a // b
    raise AssertionError(f"the reference leaves {op!r} out: DESIGN.md does not define it")


# --- evaluation ------------------------------------------------------------------


def evaluate(expr: Expression, row: Row) -> Any:
    """The value of ``expr`` on ``row``; conditions give True, False or None."""
    if isinstance(expr, ColumnRef):
        return row[expr.name]
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Label):
        return evaluate(expr.element, row)
    if isinstance(expr, Comparison):
        return _compare(expr.op, evaluate(expr.left, row), evaluate(expr.right, row))
    if isinstance(expr, IsNull):
        missing = evaluate(expr.operand, row) is None
        return not missing if expr.negate else missing
    if isinstance(expr, InList):
        members = [evaluate(v, row) for v in expr.values]
        return _in_list(evaluate(expr.operand, row), members, expr.negate)
    if isinstance(expr, Between):
        value = evaluate(expr.operand, row)
        low = evaluate(expr.low, row)
        high = evaluate(expr.high, row)
        return _and([_compare("ge", value, low), _compare("le", value, high)])
    if isinstance(expr, Like):
        text = evaluate(expr.operand, row)
        pattern = evaluate(expr.pattern, row)
        if text is None or pattern is None:
            return None
        return like_matches(text, pattern, expr.case_insensitive)
    if isinstance(expr, Arithmetic):
        return _arithmetic(expr.op, evaluate(expr.left, row), evaluate(expr.right, row))
    if isinstance(expr, BoolOp):
        parts = [evaluate(clause, row) for clause in expr.clauses]
        return _and(parts) if expr.op == "and" else _or(parts)
    if isinstance(expr, Not):
        return _not(evaluate(expr.clause, row))
    raise AssertionError(f"the reference does not evaluate {type(expr).__name__} nodes")


def is_match(condition: Expression | None, row: Row) -> bool:
    """True when ``condition`` is True on ``row`` (no condition matches every row)."""
    return condition is None or evaluate(condition, row) is True


# --- ordering and slicing ----------------------------------------------------------


def _compare_for_order(ordering: Ordering, a: Any, b: Any) -> int:
    if a is None and b is None:
        return 0
    nulls_first = ordering.descending if ordering.nulls is None else ordering.nulls == "first"
    if a is None:
        return -1 if nulls_first else 1
    if b is None:
        return 1 if nulls_first else -1
    a, b = comparable(a), comparable(b)
    if a == b:
        return 0
    smaller = -1 if a < b else 1
    return -smaller if ordering.descending else smaller


def order_rows(rows: Sequence[Row], orderings: Sequence[Ordering]) -> list[Row]:
    """``rows`` sorted by every ordering at once (stable: ties keep their order)."""

    def compare(a: Row, b: Row) -> int:
        for ordering in orderings:
            result = _compare_for_order(
                ordering, evaluate(ordering.element, a), evaluate(ordering.element, b)
            )
            if result:
                return result
        return 0

    return sorted(rows, key=functools.cmp_to_key(compare))


def run_query(
    rows: Sequence[Row],
    where: Expression | None = None,
    orderings: Sequence[Ordering] = (),
    columns: Sequence[Expression] | None = None,
    distinct: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[tuple[Any, ...]]:
    """Filter, order, project onto ``columns``, drop duplicates, then slice.

    Without ``columns`` each output tuple is the whole row's values in key order.
    """
    kept = [row for row in rows if is_match(where, row)]
    ordered = order_rows(kept, orderings)
    projected: list[tuple[Any, ...]] = []
    for row in ordered:
        if columns is None:
            projected.append(tuple(row[name] for name in sorted(row)))
        else:
            projected.append(tuple(evaluate(column, row) for column in columns))
    if distinct:
        unique: list[tuple[Any, ...]] = []
        for values in projected:
            if values not in unique:
                unique.append(values)
        projected = unique
    stop = None if limit is None else offset + limit
    return projected[offset:stop]
