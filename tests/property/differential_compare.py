"""Comparing an engine's result with the memory engine's, per output column.

Each column compares by a mode: :data:`EXACT` (same type and same value down to
float -0.0, Decimal scale and JSON 1 vs 1.0), :data:`EQUAL` (same type and
``==``) for values an engine may pick among equals or compute, and
:data:`APPROX` (floats within a relative 1e-9) for avg, float sums and true
division. Unordered results compare as multisets, ordered ones as lists.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pytuck.query.expressions import Arithmetic, Expression, FunctionCall

__all__ = ["EXACT", "EQUAL", "APPROX", "comparison_mode", "canonical", "assert_same_rows"]

#: Same type and same value, down to float -0.0 signs, Decimal scale, JSON 1 vs 1.0.
EXACT = "exact"
#: Same type and ``==``: -0.0 equals 0.0, Decimal 1.5 equals 1.50. For values an
#: engine may pick from several equal ones (group keys, distinct rows, min/max)
#: or compute (Decimal and float arithmetic).
EQUAL = "equal"
#: Same type, floats within a relative 1e-9: for avg, sum of floats and true
#: division, whose last bits depend on summation order and on whether an
#: engine divides in double or in numeric.
APPROX = "approx"


def comparison_mode(expr: Expression, picked: bool = False) -> str:
    """How an output column of ``expr`` is compared (``picked``: one of several equal values)."""
    nodes = list(expr.walk())
    for node in nodes:
        if isinstance(node, FunctionCall) and (
            node.name == "avg" or (node.name == "sum" and node.type is float)
        ):
            return APPROX
        if isinstance(node, Arithmetic) and node.op == "truediv":
            return APPROX
    if picked:
        return EQUAL
    for node in nodes:
        if isinstance(node, FunctionCall) and node.name in ("min", "max", "sum"):
            return EQUAL
        if isinstance(node, Arithmetic) and node.type in (float, Decimal):
            return EQUAL
    return EXACT


def _type_name(value: Any) -> str:
    tp = type(value)
    return f"{tp.__module__}.{tp.__qualname__}"


def canonical(value: Any, mode: str = EXACT) -> Any:
    """A hashable form of ``value`` that is equal exactly when ``mode`` says the values are."""
    if value is None:
        return None
    name = _type_name(value)
    if isinstance(value, float):
        if mode == APPROX:
            return (name, "approx")
        return (name, repr(value if mode == EXACT else value + 0.0))
    if isinstance(value, Decimal):
        return (name, str(value) if mode == EXACT else repr(Fraction(value)))
    if isinstance(value, (dt.datetime, dt.time)):
        # isoformat shows the UTC offset or its absence, and leaves out ``fold``,
        # which == ignores too and no engine stores for naive values.
        return (name, value.isoformat())
    if isinstance(value, list):
        return (name, tuple(canonical(item) for item in value))
    if isinstance(value, dict):
        return (name, tuple(sorted((repr(k), canonical(v)) for k, v in value.items())))
    return (name, repr(value))


def _approx_equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return bool(a == b)


def _row_key(row: Sequence[Any], modes: Sequence[str]) -> tuple[Any, ...]:
    return tuple(canonical(value, mode) for value, mode in zip(row, modes))


def _sort_key(row: Sequence[Any], modes: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    approx = tuple(
        "" if v is None else (f"{v:.6e}" if isinstance(v, float) else repr(v))
        for v, m in zip(row, modes)
        if m == APPROX
    )
    return repr(_row_key(row, modes)), approx


def assert_same_rows(
    expected: Sequence[Sequence[Any]],
    actual: Sequence[Sequence[Any]],
    modes: Sequence[str],
    ordered: bool,
    what: str,
) -> None:
    """Fail unless ``actual`` (an engine) holds what ``expected`` (memory) holds.

    Unordered results compare as multisets, ordered ones as lists; each column
    by its mode (:data:`EXACT`, :data:`EQUAL`, :data:`APPROX`).
    """
    expected = [tuple(row) for row in expected]
    actual = [tuple(row) for row in actual]
    context = f"{what}\n  memory: {expected!r}\n  engine: {actual!r}"
    assert len(expected) == len(actual), f"row counts differ ({len(expected)} vs {len(actual)}): {context}"
    if not ordered:
        if APPROX not in modes:
            missing = Counter(_row_key(r, modes) for r in expected)
            missing.subtract(_row_key(r, modes) for r in actual)
            differences = {k: n for k, n in missing.items() if n}
            assert not differences, f"rows differ (+memory/-engine {differences!r}): {context}"
            return
        expected = sorted(expected, key=lambda r: _sort_key(r, modes))
        actual = sorted(actual, key=lambda r: _sort_key(r, modes))
    for index, (want, got) in enumerate(zip(expected, actual)):
        assert _row_key(want, modes) == _row_key(got, modes), (
            f"row {index} differs: {want!r} vs {got!r}: {context}"
        )
        for position, mode in enumerate(modes):
            if mode == APPROX:
                assert _approx_equal(want[position], got[position]), (
                    f"row {index} column {position}: {want[position]!r} vs {got[position]!r}: {context}"
                )
