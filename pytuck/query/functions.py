"""SQL functions as tree nodes: ``func.count()``, ``func.sum(col)`` and friends.

Each call checks its argument and records the result type: ``count`` gives an
int, ``avg`` a float, ``sum`` of ints an int; ``sum/avg/min/max`` of no rows is
NULL (DESIGN.md, Arithmetic and aggregates).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pytuck.errors import QueryError
from pytuck.query.expressions import (
    NUMERIC_TYPES,
    ColumnElement,
    Expression,
    FunctionCall,
    coerce_expression,
)
from pytuck.types import is_orderable_type

__all__ = ["func"]


def _single(name: str, args: tuple[Any, ...]) -> Expression:
    if len(args) != 1:
        raise QueryError(f"func.{name}() takes exactly one column or expression, got {len(args)}")
    return coerce_expression(args[0])


def _numeric(name: str, arg: Expression) -> type:
    if arg.type is not None and (arg.type is bool or arg.type not in NUMERIC_TYPES):
        raise QueryError(f"func.{name}({arg.describe()}) needs numbers, not {arg.type.__name__}")
    return arg.type or float


class _FunctionFactory:
    """The ``func`` namespace. Unknown names raise a clear error."""

    def count(self, *args: Any, distinct: bool = False) -> ColumnElement[int]:
        """``count()`` counts rows; ``count(col)`` counts non-NULL values."""
        if len(args) > 1:
            raise QueryError("func.count() takes at most one column")
        parts = tuple(coerce_expression(a) for a in args)
        if distinct and not parts:
            raise QueryError("func.count(distinct=True) needs a column")
        return FunctionCall("count", parts, int, distinct=distinct)

    def sum(self, *args: Any) -> ColumnElement[Any]:
        """Sum of non-NULL values; NULL when there are none. Sum of ints is an int."""
        arg = _single("sum", args)
        tp = _numeric("sum", arg)
        return FunctionCall("sum", (arg,), tp if tp in (int, float, Decimal) else float)

    def avg(self, *args: Any) -> ColumnElement[float]:
        """Mean of non-NULL values as a float; NULL when there are none."""
        arg = _single("avg", args)
        _numeric("avg", arg)
        return FunctionCall("avg", (arg,), float)

    def min(self, *args: Any) -> ColumnElement[Any]:
        """Smallest non-NULL value; NULL when there are none."""
        return self._extreme("min", args)

    def max(self, *args: Any) -> ColumnElement[Any]:
        """Largest non-NULL value; NULL when there are none."""
        return self._extreme("max", args)

    def _extreme(self, name: str, args: tuple[Any, ...]) -> ColumnElement[Any]:
        arg = _single(name, args)
        if arg.type is not None and not is_orderable_type(arg.type):
            raise QueryError(f"func.{name}({arg.describe()}): JSON documents have no order")
        return FunctionCall(name, (arg,), arg.type)

    def __getattr__(self, name: str) -> Any:
        raise QueryError(
            f"func.{name} is not a known function; available: count, sum, avg, min, max"
        )


#: The function namespace: ``func.count()``, ``func.sum(User.age)``, ...
func = _FunctionFactory()
