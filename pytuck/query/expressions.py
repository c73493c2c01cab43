"""The expression tree: immutable nodes that describe values and conditions.

The tree is data, not behaviour: building ``User.age >= 65`` makes a
:class:`Comparison` node; the memory engine interprets nodes and the SQL
engines compile them. Nodes check their operands when built, so a wrong
column or operand fails at the line that wrote it, naming model and column.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pytuck.errors import QueryError
from pytuck.schema import ColumnSchema, TableSchema
from pytuck.types import ConversionFailure, convert_value, is_json_type, is_orderable_type

__all__ = [
    "Expression",
    "ColumnElement",
    "ColumnRef",
    "Literal",
    "Comparison",
    "IsNull",
    "InList",
    "Between",
    "Like",
    "Arithmetic",
    "BoolOp",
    "Not",
    "FunctionCall",
    "Label",
    "Ordering",
    "and_",
    "or_",
    "not_",
    "literal",
    "coerce_expression",
    "require_condition",
    "NUMERIC_TYPES",
    "AGGREGATES",
]

T = TypeVar("T")

NUMERIC_TYPES: tuple[type, ...] = (int, float, Decimal)
_COMPARISON_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
_ARITHMETIC_OPS = ("add", "sub", "mul", "truediv", "floordiv", "mod")
_ARITHMETIC_SYMBOLS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "truediv": "/",
    "floordiv": "//",
    "mod": "%",
}
#: Function names that aggregate many rows into one value.
AGGREGATES = frozenset({"count", "sum", "avg", "min", "max"})


def _name_of(expr: Expression) -> str:
    return expr.describe()


class Expression:
    """Base of every node. ``type`` is the Python type of the node's values
    (``None`` when unknown, as for a bare NULL)."""

    __slots__ = ()

    @property
    def type(self) -> type | None:
        """The Python type of the values this node produces."""
        return None

    def children(self) -> tuple[Expression, ...]:
        """The direct sub-expressions (used by walkers: planner, compiler)."""
        return ()

    def describe(self) -> str:
        """A short readable rendering for error messages and ``repr``."""
        return type(self).__name__

    def walk(self) -> Iterable[Expression]:
        """Yield this node and every node below it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    def __bool__(self) -> bool:
        raise QueryError(
            f"the condition {self.describe()} has no truth value in Python; "
            "combine conditions with and_(), or_() and not_() instead of and/or/not"
        )


class ColumnElement(Expression, Generic[T]):
    """An expression with a value per row: it has the column operators."""

    __slots__ = ()

    # --- comparisons ---
    def __eq__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        if other is None:
            return IsNull(self)
        return Comparison("eq", self, coerce_expression(other, self))

    def __ne__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        if other is None:
            return IsNull(self, negate=True)
        return Comparison("ne", self, coerce_expression(other, self))

    def __lt__(self, other: Any) -> ColumnElement[bool]:
        return Comparison("lt", self, coerce_expression(other, self))

    def __le__(self, other: Any) -> ColumnElement[bool]:
        return Comparison("le", self, coerce_expression(other, self))

    def __gt__(self, other: Any) -> ColumnElement[bool]:
        return Comparison("gt", self, coerce_expression(other, self))

    def __ge__(self, other: Any) -> ColumnElement[bool]:
        return Comparison("ge", self, coerce_expression(other, self))

    __hash__ = object.__hash__

    # --- NULL tests ---
    def is_(self, other: None) -> ColumnElement[bool]:
        """``col.is_(None)``: the value is NULL."""
        if other is not None:
            raise QueryError(f"{self.describe()}.is_() takes only None; use == for values")
        return IsNull(self)

    def is_not(self, other: None) -> ColumnElement[bool]:
        """``col.is_not(None)``: the value is not NULL."""
        if other is not None:
            raise QueryError(f"{self.describe()}.is_not() takes only None; use != for values")
        return IsNull(self, negate=True)

    isnot = is_not

    # --- membership and ranges ---
    def in_(self, values: Iterable[Any]) -> ColumnElement[bool]:
        """True when the value equals one of ``values``; ``in_([])`` is false for every row."""
        return InList(self, _coerce_many(values, self, "in_"))

    def not_in(self, values: Iterable[Any]) -> ColumnElement[bool]:
        """Negation of :meth:`in_`; ``not_in([])`` is true for every row."""
        return InList(self, _coerce_many(values, self, "not_in"), negate=True)

    notin_ = not_in

    def between(self, low: Any, high: Any) -> ColumnElement[bool]:
        """``low <= value <= high`` (both ends included)."""
        return Between(self, coerce_expression(low, self), coerce_expression(high, self))

    # --- text matching (DESIGN.md, Text matching) ---
    def like(self, pattern: str) -> ColumnElement[bool]:
        """SQL LIKE, case-sensitive: ``%`` any run, ``_`` one character, ``\\`` escapes."""
        return Like(self, _text_pattern(self, pattern, "like"), case_insensitive=False)

    def ilike(self, pattern: str) -> ColumnElement[bool]:
        """LIKE with ASCII case folded."""
        return Like(self, _text_pattern(self, pattern, "ilike"), case_insensitive=True)

    def not_like(self, pattern: str) -> ColumnElement[bool]:
        """Negation of :meth:`like`."""
        return Not(self.like(pattern))

    def startswith(self, prefix: str) -> ColumnElement[bool]:
        """Case-sensitive prefix test; ``%`` and ``_`` in ``prefix`` match themselves."""
        return self._affix(prefix, "startswith", "{}%", False)

    def endswith(self, suffix: str) -> ColumnElement[bool]:
        """Case-sensitive suffix test."""
        return self._affix(suffix, "endswith", "%{}", False)

    def contains(self, fragment: str) -> ColumnElement[bool]:
        """Case-sensitive substring test (Pytuck 1.x folded case: see docs)."""
        return self._affix(fragment, "contains", "%{}%", False)

    def istartswith(self, prefix: str) -> ColumnElement[bool]:
        """Prefix test folding ASCII case."""
        return self._affix(prefix, "istartswith", "{}%", True)

    def iendswith(self, suffix: str) -> ColumnElement[bool]:
        """Suffix test folding ASCII case."""
        return self._affix(suffix, "iendswith", "%{}", True)

    def icontains(self, fragment: str) -> ColumnElement[bool]:
        """Substring test folding ASCII case."""
        return self._affix(fragment, "icontains", "%{}%", True)

    def _affix(self, text: str, method: str, shape: str, fold: bool) -> ColumnElement[bool]:
        _require_text(self, method)
        if not isinstance(text, str):
            raise QueryError(
                f"{self.describe()}.{method}() takes text, got {text!r} ({type(text).__name__})"
            )
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return Like(self, Literal(shape.format(escaped), str), case_insensitive=fold)

    # --- arithmetic ---
    def __add__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("add", self, coerce_expression(other))

    def __radd__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("add", coerce_expression(other), self)

    def __sub__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("sub", self, coerce_expression(other))

    def __rsub__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("sub", coerce_expression(other), self)

    def __mul__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("mul", self, coerce_expression(other))

    def __rmul__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("mul", coerce_expression(other), self)

    def __truediv__(self, other: Any) -> ColumnElement[float]:
        return Arithmetic.build("truediv", self, coerce_expression(other))

    def __rtruediv__(self, other: Any) -> ColumnElement[float]:
        return Arithmetic.build("truediv", coerce_expression(other), self)

    def __floordiv__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("floordiv", self, coerce_expression(other))

    def __rfloordiv__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("floordiv", coerce_expression(other), self)

    def __mod__(self, other: Any) -> ColumnElement[Any]:
        return Arithmetic.build("mod", self, coerce_expression(other))

    def __neg__(self) -> ColumnElement[Any]:
        return Arithmetic.build("sub", Literal(0, self.type or int), self)

    # --- ordering and naming ---
    def asc(self) -> Ordering:
        """Ascending order; NULLs last unless :meth:`Ordering.nulls_first` says so."""
        return Ordering(self, descending=False)

    def desc(self) -> Ordering:
        """Descending order; NULLs first unless :meth:`Ordering.nulls_last` says so."""
        return Ordering(self, descending=True)

    def nulls_first(self) -> Ordering:
        """Ascending order with NULLs first."""
        return Ordering(self, descending=False, nulls="first")

    def nulls_last(self) -> Ordering:
        """Ascending order with NULLs last."""
        return Ordering(self, descending=False, nulls="last")

    def label(self, name: str) -> Label[T]:
        """Name this expression in a result row."""
        return Label(self, name)


class ColumnRef(ColumnElement[T]):
    """A reference to a stored column of a table.

    Attributes:
        table: the table's schema.
        column: the column's schema.
        key: the attribute name users write (may differ from the stored name).
        entity: the model class the column belongs to, or None for table-level use.
    """

    __slots__ = ("table", "column", "key", "entity")

    def __init__(
        self, table: TableSchema, column: ColumnSchema, key: str | None = None, entity: Any = None
    ) -> None:
        self.table = table
        self.column = column
        self.key = key or column.name
        self.entity = entity

    @property
    def type(self) -> type:
        return self.column.type

    @property
    def name(self) -> str:
        """The stored column name."""
        return self.column.name

    def owner_name(self) -> str:
        """The model class name, or the table name for table-level references."""
        return self.entity.__name__ if self.entity is not None else self.table.name

    def describe(self) -> str:
        return f"{self.owner_name()}.{self.key}"

    def __reduce__(self) -> Any:
        raise TypeError("column references are not picklable")


class Literal(ColumnElement[T]):
    """A value carried by the statement; it always travels as a bound parameter."""

    __slots__ = ("value", "value_type")

    def __init__(self, value: Any, value_type: type | None = None) -> None:
        self.value = value
        self.value_type = value_type if value_type is not None or value is None else type(value)

    @property
    def type(self) -> type | None:
        return self.value_type

    def describe(self) -> str:
        return repr(self.value)


class Comparison(ColumnElement[bool]):
    """``left op right`` for op in eq, ne, lt, le, gt, ge."""

    __slots__ = ("op", "left", "right")

    _SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}

    def __init__(self, op: str, left: Expression, right: Expression) -> None:
        if op not in _COMPARISON_OPS:
            raise QueryError(f"unknown comparison {op!r}")
        if op not in ("eq", "ne"):
            for side in (left, right):
                if side.type is not None and not is_orderable_type(side.type):
                    raise QueryError(
                        f"{side.describe()}: JSON documents have no order; "
                        f"'{self._SYMBOLS[op]}' needs ordered values"
                    )
        _check_comparable(left, right, self._SYMBOLS[op])
        self.op = op
        self.left = left
        self.right = right

    @property
    def type(self) -> type:
        return bool

    def children(self) -> tuple[Expression, ...]:
        return (self.left, self.right)

    def describe(self) -> str:
        return f"{self.left.describe()} {self._SYMBOLS[self.op]} {self.right.describe()}"


class IsNull(ColumnElement[bool]):
    """``operand IS NULL`` (or ``IS NOT NULL`` with ``negate``)."""

    __slots__ = ("operand", "negate")

    def __init__(self, operand: Expression, negate: bool = False) -> None:
        self.operand = operand
        self.negate = negate

    @property
    def type(self) -> type:
        return bool

    def children(self) -> tuple[Expression, ...]:
        return (self.operand,)

    def describe(self) -> str:
        return f"{self.operand.describe()} IS {'NOT ' if self.negate else ''}NULL"


class InList(ColumnElement[bool]):
    """``operand IN (values...)``; with ``negate``, ``NOT IN``."""

    __slots__ = ("operand", "values", "negate")

    def __init__(
        self, operand: Expression, values: tuple[Expression, ...], negate: bool = False
    ) -> None:
        self.operand = operand
        self.values = values
        self.negate = negate

    @property
    def type(self) -> type:
        return bool

    def children(self) -> tuple[Expression, ...]:
        return (self.operand, *self.values)

    def describe(self) -> str:
        inner = ", ".join(v.describe() for v in self.values)
        return f"{self.operand.describe()} {'NOT ' if self.negate else ''}IN ({inner})"


class Between(ColumnElement[bool]):
    """``low <= operand <= high``."""

    __slots__ = ("operand", "low", "high")

    def __init__(self, operand: Expression, low: Expression, high: Expression) -> None:
        for bound in (low, high):
            _check_comparable(operand, bound, "between")
        if operand.type is not None and not is_orderable_type(operand.type):
            raise QueryError(f"{operand.describe()}: JSON documents have no order for between()")
        self.operand = operand
        self.low = low
        self.high = high

    @property
    def type(self) -> type:
        return bool

    def children(self) -> tuple[Expression, ...]:
        return (self.operand, self.low, self.high)

    def describe(self) -> str:
        return f"{self.operand.describe()} BETWEEN {self.low.describe()} AND {self.high.describe()}"


class Like(ColumnElement[bool]):
    """``operand LIKE pattern`` with ``\\`` as the escape character.

    ``case_insensitive`` folds ASCII letters only (DESIGN.md, Text matching).
    """

    __slots__ = ("operand", "pattern", "case_insensitive")

    def __init__(self, operand: Expression, pattern: Expression, case_insensitive: bool) -> None:
        self.operand = operand
        self.pattern = pattern
        self.case_insensitive = case_insensitive

    @property
    def type(self) -> type:
        return bool

    def children(self) -> tuple[Expression, ...]:
        return (self.operand, self.pattern)

    def describe(self) -> str:
        word = "ILIKE" if self.case_insensitive else "LIKE"
        return f"{self.operand.describe()} {word} {self.pattern.describe()}"


class Arithmetic(ColumnElement[Any]):
    """``left op right`` for op in add, sub, mul, truediv, floordiv, mod.

    ``truediv`` always gives a float; ``floordiv`` of ints an int (DESIGN.md,
    Arithmetic). Division by zero gives NULL on every engine.
    """

    __slots__ = ("op", "left", "right", "result_type")

    def __init__(self, op: str, left: Expression, right: Expression, result_type: type) -> None:
        self.op = op
        self.left = left
        self.right = right
        self.result_type = result_type

    @classmethod
    def build(cls, op: str, left: Expression, right: Expression) -> Arithmetic:
        """Check operand types and work out the result type."""
        if op not in _ARITHMETIC_OPS:
            raise QueryError(f"unknown arithmetic operator {op!r}")
        types = []
        for side in (left, right):
            if side.type is None:
                continue
            if side.type is bool or side.type not in NUMERIC_TYPES:
                symbol = _ARITHMETIC_SYMBOLS[op]
                raise QueryError(
                    f"{left.describe()} {symbol} {right.describe()}: '{symbol}' needs numbers, "
                    f"but {side.describe()} is {side.type.__name__}"
                )
            types.append(side.type)
        if op == "truediv" or float in types:
            result: type = float
        elif Decimal in types:
            result = Decimal
        else:
            result = int
        return cls(op, left, right, result)

    @property
    def type(self) -> type:
        return self.result_type

    def children(self) -> tuple[Expression, ...]:
        return (self.left, self.right)

    def describe(self) -> str:
        return f"({self.left.describe()} {_ARITHMETIC_SYMBOLS[self.op]} {self.right.describe()})"


class BoolOp(ColumnElement[bool]):
    """``and``/``or`` of two or more conditions."""

    __slots__ = ("op", "clauses")

    def __init__(self, op: str, clauses: tuple[Expression, ...]) -> None:
        if op not in ("and", "or"):
            raise QueryError(f"unknown boolean operator {op!r}")
        self.op = op
        self.clauses = clauses

    @property
    def type(self) -> type:
        return bool

    def children(self) -> tuple[Expression, ...]:
        return self.clauses

    def describe(self) -> str:
        joiner = f" {self.op.upper()} "
        return "(" + joiner.join(c.describe() for c in self.clauses) + ")"


class Not(ColumnElement[bool]):
    """``NOT clause`` (three-valued: NOT of unknown stays unknown)."""

    __slots__ = ("clause",)

    def __init__(self, clause: Expression) -> None:
        self.clause = clause

    @property
    def type(self) -> type:
        return bool

    def children(self) -> tuple[Expression, ...]:
        return (self.clause,)

    def describe(self) -> str:
        return f"NOT {self.clause.describe()}"


class FunctionCall(ColumnElement[T]):
    """A function applied to arguments; ``count/sum/avg/min/max`` aggregate."""

    __slots__ = ("name", "args", "result_type", "distinct")

    def __init__(
        self,
        name: str,
        args: tuple[Expression, ...],
        result_type: type | None,
        distinct: bool = False,
    ) -> None:
        self.name = name
        self.args = args
        self.result_type = result_type
        self.distinct = distinct

    @property
    def type(self) -> type | None:
        return self.result_type

    @property
    def is_aggregate(self) -> bool:
        """True for the functions that fold many rows into one value."""
        return self.name in AGGREGATES

    def children(self) -> tuple[Expression, ...]:
        return self.args

    def describe(self) -> str:
        inner = ", ".join(a.describe() for a in self.args) or ("*" if self.name == "count" else "")
        return f"{self.name}({'DISTINCT ' if self.distinct else ''}{inner})"


class Label(ColumnElement[T]):
    """An expression given a name in result rows."""

    __slots__ = ("element", "name")

    def __init__(self, element: Expression, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise QueryError(f"a label must be a non-empty string, got {name!r}")
        self.element = element
        self.name = name

    @property
    def type(self) -> type | None:
        return self.element.type

    def children(self) -> tuple[Expression, ...]:
        return (self.element,)

    def describe(self) -> str:
        return f"{self.element.describe()} AS {self.name}"


class Ordering:
    """One ``ORDER BY`` term: an expression, a direction and NULL placement.

    ``nulls`` is ``None`` for the contract default (NULLs last ascending,
    first descending), or ``"first"``/``"last"``.
    """

    __slots__ = ("element", "descending", "nulls")

    def __init__(self, element: Expression, descending: bool, nulls: str | None = None) -> None:
        if nulls not in (None, "first", "last"):
            raise QueryError(f"nulls must be 'first' or 'last', got {nulls!r}")
        if element.type is not None and not is_orderable_type(element.type):
            raise QueryError(f"{element.describe()}: JSON documents cannot be ordered")
        self.element = element
        self.descending = descending
        self.nulls = nulls

    def nulls_first(self) -> Ordering:
        """Put NULLs before every value."""
        return Ordering(self.element, self.descending, "first")

    def nulls_last(self) -> Ordering:
        """Put NULLs after every value."""
        return Ordering(self.element, self.descending, "last")

    @property
    def nulls_go_first(self) -> bool:
        """Where NULLs land, with the contract default applied."""
        if self.nulls is None:
            return self.descending
        return self.nulls == "first"

    def __repr__(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        return f"<Ordering {self.element.describe()} {direction} nulls={self.nulls}>"


# --- building helpers -------------------------------------------------------


def literal(value: Any, value_type: type | None = None) -> Literal[Any]:
    """Wrap a Python value as a bound literal."""
    return Literal(value, value_type)


def _owner(expr: Expression) -> str:
    return expr.describe()


def coerce_expression(value: Any, against: Expression | None = None) -> Expression:
    """Turn ``value`` into a node; a plain value is converted to ``against``'s type.

    Raises:
        QueryError: the value cannot be converted, naming the column and value.
    """
    if isinstance(value, Expression):
        return value
    if isinstance(value, Ordering):
        raise QueryError(f"{value!r} is an ordering, not a value")
    if isinstance(value, (float, Decimal)) and value != value:
        # NaN is never stored (types.py refuses it) and engines disagree on
        # how it compares, so a NaN operand would give engine-specific answers.
        where = against.describe() if against is not None else "a query"
        raise QueryError(f"{where}: NaN cannot be compared; use a number or None")
    target = against.type if against is not None else None
    if target is None or value is None:
        return Literal(value, _natural_type(value))
    if target in NUMERIC_TYPES and not isinstance(value, bool) and isinstance(value, NUMERIC_TYPES):
        # Numbers compare across int/float/Decimal without being forced into
        # the column's type: age > 30.5 must not become age > 30.
        return Literal(value, type(value))
    try:
        converted = convert_value(value, target)
    except ConversionFailure as exc:
        raise QueryError(
            f"{_owner(against) if against is not None else 'value'}: cannot compare with "
            f"{value!r} ({type(value).__name__}): {exc.reason}"
        ) from None
    return Literal(converted, target)


def _natural_type(value: Any) -> type | None:
    if value is None:
        return None
    candidates: tuple[type, ...] = (
        bool, int, float, str, bytes, Decimal, uuid.UUID, list, dict,
        dt.datetime, dt.date, dt.time, dt.timedelta,
    )
    for tp in candidates:
        if isinstance(value, tp):
            return tp
    raise QueryError(f"{value!r} ({type(value).__name__}) is not a value pytuck can store")


def _coerce_many(values: Iterable[Any], against: Expression, method: str) -> tuple[Expression, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise QueryError(
            f"{against.describe()}.{method}() takes a list of values, got {values!r}"
        )
    return tuple(coerce_expression(v, against) for v in values)


def _require_text(expr: Expression, method: str) -> None:
    if expr.type is not None and expr.type is not str:
        raise QueryError(
            f"{expr.describe()}.{method}() needs a text column; it holds {expr.type.__name__}"
        )


def _text_pattern(expr: Expression, pattern: Any, method: str) -> Expression:
    _require_text(expr, method)
    if isinstance(pattern, Expression):
        return pattern
    if not isinstance(pattern, str):
        raise QueryError(
            f"{expr.describe()}.{method}() takes a text pattern, got {pattern!r} "
            f"({type(pattern).__name__})"
        )
    return Literal(pattern, str)


def _comparable(a: type, b: type) -> bool:
    if a is b:
        return True
    numeric = {int, float, Decimal}
    if a in numeric and b in numeric:
        return True
    return False


def _check_comparable(left: Expression, right: Expression, symbol: str) -> None:
    lt, rt = left.type, right.type
    if lt is None or rt is None or _comparable(lt, rt):
        return
    if is_json_type(lt) and is_json_type(rt):
        return
    raise QueryError(
        f"cannot compare {left.describe()} ({lt.__name__}) {symbol} "
        f"{right.describe()} ({rt.__name__})"
    )


def require_condition(value: Any, where: str) -> Expression:
    """Return ``value`` when it is a condition (an expression of truth values).

    A bool column is a condition; ``User.age`` or ``User.age + 1`` is not,
    since engines disagree on the truth of numbers and text.

    Raises:
        QueryError: ``value`` is not a condition, naming it and ``where`` it was used.
    """
    if not isinstance(value, Expression):
        raise QueryError(f"{where} takes conditions such as User.age > 5, got {value!r}")
    if value.type is not None and value.type is not bool:
        raise QueryError(
            f"{where} takes conditions such as User.age > 5; {value.describe()} holds "
            f"{value.type.__name__} values, not truth values"
        )
    return value


def _conditions(args: Sequence[Any], name: str) -> tuple[Expression, ...]:
    return tuple(require_condition(arg, f"{name}()") for arg in args)


def and_(*clauses: Any) -> ColumnElement[bool]:
    """All conditions hold. One argument returns it unchanged."""
    parts = _conditions(clauses, "and_")
    if not parts:
        raise QueryError("and_() needs at least one condition")
    if len(parts) == 1:
        return parts[0]  # type: ignore[return-value]
    return BoolOp("and", parts)


def or_(*clauses: Any) -> ColumnElement[bool]:
    """At least one condition holds. One argument returns it unchanged."""
    parts = _conditions(clauses, "or_")
    if not parts:
        raise QueryError("or_() needs at least one condition")
    if len(parts) == 1:
        return parts[0]  # type: ignore[return-value]
    return BoolOp("or", parts)


def not_(clause: Any) -> ColumnElement[bool]:
    """The condition does not hold (NULL stays unknown: DESIGN.md, NULL is SQL NULL)."""
    (part,) = _conditions((clause,), "not_")
    return Not(part)
