"""Hypothesis strategies for the differential tests of the memory engine.

Data and queries are drawn as small plain descriptions (tuples and dicts, so a
failing example prints readably and can be pasted into ``@example``), then
built into real model instances and expression trees through the public API.

The model is fixed: one table ``items`` with int, float, Decimal, text, bool
and datetime columns, all nullable, some indexed and some not. Twin columns
(:data:`TWIN_OF`: ``i_sorted``/``i_plain``, ``s_hash``/``s_plain`` ...) let a
test store one value in an indexed and an unindexed column and check both give
one answer. ``%`` (modulo) is left out: DESIGN.md does not say how its sign goes.

Condition descriptions::

    ("cmp", op, operand, operand)        op in eq ne lt le gt ge
    ("in", operand, [values], negate)     a value may be ("col", name)
    ("between", operand, low, high)      so may a bound
    ("isnull", operand, negate)
    ("like", operand, pattern, fold, negate)
    ("affix", method, operand, text)     method: startswith, icontains, ...
    ("and", [conditions]) / ("or", [conditions]) / ("not", condition)

Operand descriptions: ``("col", name)``, ``("lit", value)`` and
``("arith", op, operand, operand)`` with op in add sub mul truediv floordiv.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from pytuck import Column, Storage, declarative_base, literal
from pytuck.query.expressions import Expression, Ordering, and_, not_, or_

__all__ = [
    "INT_COLUMNS",
    "TEXT_COLUMNS",
    "NUMERIC_COLUMNS",
    "ORDERABLE_COLUMNS",
    "TWIN_OF",
    "open_table",
    "row_values",
    "partial_row_values",
    "twin_row_values",
    "conditions",
    "orderings",
    "build_condition",
    "build_operand",
    "build_ordering",
    "rename_columns",
    "datetimes",
]

INT_COLUMNS = ("id", "i_sorted", "i_plain")
NUMERIC_COLUMNS = (*INT_COLUMNS, "f", "f_sorted", "d")
TEXT_COLUMNS = ("s_hash", "s_sorted", "s_plain")
BOOL_COLUMNS = ("b", "b_hash")
DATETIME_COLUMNS = ("t_sorted", "t_hash", "t_plain")
ORDERABLE_COLUMNS = (*NUMERIC_COLUMNS, *TEXT_COLUMNS, *BOOL_COLUMNS, *DATETIME_COLUMNS)

#: Indexed column -> its unindexed twin.
TWIN_OF = {
    "i_sorted": "i_plain",
    "s_hash": "s_plain",
    "s_sorted": "s_plain",
    "f_sorted": "f",
    "b_hash": "b",
    "t_sorted": "t_plain",
    "t_hash": "t_plain",
}


def open_table() -> tuple[Storage, Any]:
    """A fresh in-memory storage and the ``Item`` model bound to it."""
    storage = Storage(in_memory=True)
    base: Any = declarative_base(storage)

    class Item(base):  # type: ignore[misc, valid-type]
        __tablename__ = "items"
        id = Column(int, primary_key=True)
        i_sorted = Column(int, index="sorted", nullable=True)
        i_plain = Column(int, nullable=True)
        s_hash = Column(str, index=True, nullable=True)
        s_sorted = Column(str, index="sorted", nullable=True)
        s_plain = Column(str, nullable=True)
        f = Column(float, nullable=True)
        f_sorted = Column(float, index="sorted", nullable=True)
        d = Column(Decimal, nullable=True)
        b = Column(bool, nullable=True)
        b_hash = Column(bool, index=True, nullable=True)
        t_sorted = Column(dt.datetime, index="sorted", nullable=True)
        t_hash = Column(dt.datetime, index=True, nullable=True)
        t_plain = Column(dt.datetime, nullable=True)

    return storage, Item


# --- values -------------------------------------------------------------------------

# Small pools make duplicates and matches likely; the wide ranges keep the
# comparisons honest. Text mixes cases, non-ASCII letters whose case Unicode
# folds (É, the Kelvin sign, long s), LIKE wildcards and the escape character.
ints = st.one_of(st.integers(-4, 4), st.integers(-(2**40), 2**40))
floats = st.one_of(
    st.integers(-40, 40).map(lambda n: n / 4),
    st.sampled_from([-0.0, 0.1, 1e6]),
)
_ALPHABET = [
    "a", "A", "b", "B", "z", "é", "É", "ß", "\u212a", "k", "K", "ſ", "s",
    "i", "I", "İ", "ı", "%", "_", "\\", " ", "\n",
]
texts = st.lists(st.sampled_from(_ALPHABET), max_size=4).map("".join)
decimals = st.one_of(
    st.integers(-40, 40).map(lambda n: Decimal(n) / 4),
    st.sampled_from([Decimal("0.1"), Decimal("-7"), Decimal("1E+3")]),
)
bools = st.booleans()
# A few instants an hour apart, naive or aware in several zones: the same
# instant is often spelled in two zones, and a naive value can share an aware
# one's UTC wall clock.
_ZONES = [
    None,
    dt.timezone.utc,
    dt.timezone(dt.timedelta(hours=2)),
    dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
]


def _moment(hours: int, zone: dt.tzinfo | None) -> dt.datetime:
    if zone is None:
        return dt.datetime(2024, 3, 1, 12) + dt.timedelta(hours=hours)
    noon = dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc)
    return (noon + dt.timedelta(hours=hours)).astimezone(zone)


datetimes = st.builds(_moment, st.integers(-3, 3), st.sampled_from(_ZONES))


def _nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


_COLUMN_VALUES = {
    "i_sorted": _nullable(ints),
    "i_plain": _nullable(ints),
    "s_hash": _nullable(texts),
    "s_sorted": _nullable(texts),
    "s_plain": _nullable(texts),
    "f": _nullable(floats),
    "f_sorted": _nullable(floats),
    "d": _nullable(decimals),
    "b": _nullable(bools),
    "b_hash": _nullable(bools),
    "t_sorted": _nullable(datetimes),
    "t_hash": _nullable(datetimes),
    "t_plain": _nullable(datetimes),
}
row_values = st.fixed_dictionaries(_COLUMN_VALUES)
"""One row's column values (the key is assigned by the test)."""
partial_row_values = st.fixed_dictionaries({}, optional=_COLUMN_VALUES)
"""Some of one row's column values, as an update sets them."""


@st.composite
def twin_row_values(draw: st.DrawFn) -> dict[str, Any]:
    """One row whose indexed columns and their twins hold the same value."""
    number = draw(_nullable(ints))
    text = draw(_nullable(texts))
    real = draw(_nullable(floats))
    truth = draw(_nullable(bools))
    moment = draw(_nullable(datetimes))
    return {
        "i_sorted": number,
        "i_plain": number,
        "s_hash": text,
        "s_sorted": text,
        "s_plain": text,
        "f": real,
        "f_sorted": real,
        "d": draw(_nullable(decimals)),
        "b": truth,
        "b_hash": truth,
        "t_sorted": moment,
        "t_hash": moment,
        "t_plain": moment,
    }


# --- operands -------------------------------------------------------------------------

_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
_ARITHMETIC = ("add", "sub", "mul", "truediv", "floordiv")


def _numeric_literal() -> st.SearchStrategy[Any]:
    return st.one_of(ints, floats, decimals, st.just(0))


def numeric_operands(depth: int = 2) -> st.SearchStrategy[Any]:
    """A numeric operand: a column, a literal, or arithmetic of two operands."""
    leaves = st.one_of(
        st.tuples(st.just("col"), st.sampled_from(NUMERIC_COLUMNS)),
        st.tuples(st.just("lit"), _numeric_literal()),
    )
    if depth <= 0:
        return leaves
    inner = numeric_operands(depth - 1)
    arithmetic = st.tuples(st.just("arith"), st.sampled_from(_ARITHMETIC), inner, inner)
    return st.one_of(leaves, leaves, arithmetic)


def _family(kind: str) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    """(operands, literal values) of one type family."""
    if kind == "numeric":
        return numeric_operands(), _numeric_literal()
    if kind == "text":
        return st.tuples(st.just("col"), st.sampled_from(TEXT_COLUMNS)), texts
    if kind == "datetime":
        return st.tuples(st.just("col"), st.sampled_from(DATETIME_COLUMNS)), datetimes
    return st.tuples(st.just("col"), st.sampled_from(BOOL_COLUMNS)), bools


def _literal_operand(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(st.just("lit"), _nullable(values))


@st.composite
def comparisons(draw: st.DrawFn) -> tuple[Any, ...]:
    """``operand op operand``; either side may be the literal, or neither."""
    kind = draw(st.sampled_from(["numeric", "numeric", "text", "bool", "datetime"]))
    operands, values = _family(kind)
    column_side = draw(operands)
    other_side = draw(st.one_of(_literal_operand(values), _literal_operand(values), operands))
    op = draw(st.sampled_from(_COMPARISONS))
    if draw(st.booleans()):
        return ("cmp", op, column_side, other_side)
    return ("cmp", op, other_side, column_side)


def _columns_of(kind: str) -> tuple[str, ...]:
    return {
        "numeric": NUMERIC_COLUMNS,
        "text": TEXT_COLUMNS,
        "bool": BOOL_COLUMNS,
        "datetime": DATETIME_COLUMNS,
    }[kind]


def _value_or_column(kind: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A plain value (None included), now and then a column of the same family."""
    column = st.tuples(st.just("col"), st.sampled_from(_columns_of(kind)))
    return st.one_of(_nullable(values), _nullable(values), _nullable(values), column)


@st.composite
def memberships(draw: st.DrawFn) -> tuple[Any, ...]:
    """``in_``/``not_in`` with lists that may be empty or hold None."""
    kind = draw(st.sampled_from(["numeric", "text", "bool", "datetime"]))
    operands, values = _family(kind)
    members = draw(st.lists(_value_or_column(kind, values), max_size=4))
    return ("in", draw(operands), members, draw(st.booleans()))


@st.composite
def ranges(draw: st.DrawFn) -> tuple[Any, ...]:
    """``between(low, high)`` on numbers or text; a bound may be None or a column."""
    kind = draw(st.sampled_from(["numeric", "text", "datetime"]))
    operands, values = _family(kind)
    low = draw(_value_or_column(kind, values))
    high = draw(_value_or_column(kind, values))
    return ("between", draw(operands), low, high)


@st.composite
def null_tests(draw: st.DrawFn) -> tuple[Any, ...]:
    """``is_(None)``/``is_not(None)`` on any operand."""
    operands, _ = _family(draw(st.sampled_from(["numeric", "text", "bool", "datetime"])))
    return ("isnull", draw(operands), draw(st.booleans()))


_PATTERN_PIECES = [
    "a", "A", "b", "é", "É", "ß", "\u212a", "k", "ſ", "S", "i", "İ", "ı",
    "%", "_", "\\%", "\\_", "\\\\", " ",
]
patterns = st.lists(st.sampled_from(_PATTERN_PIECES), max_size=4).map("".join)
_AFFIXES = ("startswith", "endswith", "contains", "istartswith", "iendswith", "icontains")


@st.composite
def text_matches(draw: st.DrawFn) -> tuple[Any, ...]:
    """``like``/``ilike``/``not_like`` patterns, or a prefix/suffix/substring test."""
    column = ("col", draw(st.sampled_from(TEXT_COLUMNS)))
    if draw(st.booleans()):
        return ("like", column, draw(patterns), draw(st.booleans()), draw(st.booleans()))
    return ("affix", draw(st.sampled_from(_AFFIXES)), column, draw(texts))


#: Indexed columns (the key included) with the literal values of their family.
_INDEXED = {
    "id": st.one_of(st.integers(0, 25), _numeric_literal()),
    "i_sorted": _numeric_literal(),
    "f_sorted": _numeric_literal(),
    "s_hash": texts,
    "s_sorted": texts,
    "b_hash": bools,
    "t_sorted": datetimes,
    "t_hash": datetimes,
}


@st.composite
def indexed_tests(draw: st.DrawFn) -> tuple[Any, ...]:
    """A test the planner can answer from an index: an indexed column against literals."""
    name = draw(st.sampled_from(sorted(_INDEXED)))
    column = ("col", name)
    values = _INDEXED[name]
    shape = draw(st.sampled_from(["cmp", "cmp", "flipped", "in", "between", "isnull"]))
    if shape == "in":
        return ("in", column, draw(st.lists(_nullable(values), max_size=4)), draw(st.booleans()))
    if shape == "between":
        return ("between", column, draw(_nullable(values)), draw(_nullable(values)))
    if shape == "isnull":
        return ("isnull", column, draw(st.booleans()))
    value = ("lit", draw(_nullable(values)))
    op = draw(st.sampled_from(_COMPARISONS))
    return ("cmp", op, column, value) if shape == "cmp" else ("cmp", op, value, column)


leaf_conditions = st.one_of(
    indexed_tests(),
    indexed_tests(),
    comparisons(),
    comparisons(),
    memberships(),
    ranges(),
    null_tests(),
    text_matches(),
)


def conditions(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """A condition tree of and_/or_/not_ over leaf tests, nested a few levels."""
    return st.recursive(
        leaf_conditions,
        lambda inner: st.one_of(
            st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3)),
            st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=3)),
            st.tuples(st.just("not"), inner),
        ),
        max_leaves=max_leaves,
    )


_order_elements = st.one_of(
    st.tuples(st.just("col"), st.sampled_from(ORDERABLE_COLUMNS)),
    st.tuples(st.just("col"), st.sampled_from(ORDERABLE_COLUMNS)),
    st.tuples(
        st.just("arith"),
        st.sampled_from(_ARITHMETIC),
        st.tuples(st.just("col"), st.sampled_from(NUMERIC_COLUMNS)),
        numeric_operands(0),
    ),
)
order_terms = st.tuples(_order_elements, st.booleans(), st.sampled_from([None, "first", "last"]))


def orderings(min_size: int = 1, max_size: int = 3) -> st.SearchStrategy[list[Any]]:
    """1-3 ``(element, descending, nulls)`` ordering terms."""
    return st.lists(order_terms, min_size=min_size, max_size=max_size)


# --- building the expression tree ---------------------------------------------------

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
}


def build_operand(description: Any, model: Any) -> Expression:
    """The expression an operand description stands for (literals via ``literal()``)."""
    kind = description[0]
    if kind == "col":
        expression: Expression = getattr(model, description[1])
        return expression
    if kind == "lit":
        return literal(description[1])
    _, op, left, right = description
    built: Expression = OPERATORS[op](build_operand(left, model), build_operand(right, model))
    return built


def _value(description: Any, model: Any) -> Any:
    # A plain value stays plain (the column's operator converts it).
    if isinstance(description, tuple) and description[0] == "col":
        return build_operand(description, model)
    return description


def _comparison(op: str, left: Any, right: Any, model: Any) -> Expression:
    # A literal on the right travels as a plain Python value, so the column's
    # operator converts it, as in ``Item.age > 5``; on the left it is literal(5).
    if right[0] == "lit" and left[0] != "lit":
        built: Expression = OPERATORS[op](build_operand(left, model), right[1])
        return built
    built = OPERATORS[op](build_operand(left, model), build_operand(right, model))
    return built


def build_condition(description: Any, model: Any) -> Expression:
    """The condition tree a description stands for, built with the public operators."""
    kind = description[0]
    if kind == "cmp":
        _, op, left, right = description
        return _comparison(op, left, right, model)
    if kind == "in":
        _, operand, members, negate = description
        target: Any = build_operand(operand, model)
        members = [_value(member, model) for member in members]
        built: Expression = target.not_in(members) if negate else target.in_(members)
        return built
    if kind == "between":
        _, operand, low, high = description
        target = build_operand(operand, model)
        built = target.between(_value(low, model), _value(high, model))
        return built
    if kind == "isnull":
        _, operand, negate = description
        target = build_operand(operand, model)
        built = target.is_not(None) if negate else target.is_(None)
        return built
    if kind == "like":
        _, operand, pattern, fold, negate = description
        target = build_operand(operand, model)
        if negate:
            built = target.not_like(pattern)
        else:
            built = target.ilike(pattern) if fold else target.like(pattern)
        return built
    if kind == "affix":
        _, method, operand, text = description
        built = getattr(build_operand(operand, model), method)(text)
        return built
    if kind == "not":
        return not_(build_condition(description[1], model))
    parts = [build_condition(part, model) for part in description[1]]
    return and_(*parts) if kind == "and" else or_(*parts)


def build_ordering(term: Any, model: Any) -> Ordering:
    """An :class:`Ordering` from ``(element, descending, nulls)``."""
    element, descending, nulls = term
    target: Any = build_operand(element, model)
    ordering: Ordering = target.desc() if descending else target.asc()
    if nulls == "first":
        ordering = ordering.nulls_first()
    elif nulls == "last":
        ordering = ordering.nulls_last()
    return ordering


def rename_columns(description: Any, mapping: dict[str, str]) -> Any:
    """A copy of a description with ``("col", name)`` operands renamed by ``mapping``."""
    if isinstance(description, tuple):
        if len(description) == 2 and description[0] == "col":
            return ("col", mapping.get(description[1], description[1]))
        return tuple(rename_columns(part, mapping) for part in description)
    if isinstance(description, list):
        return [rename_columns(part, mapping) for part in description]
    return description
