"""The contract's arithmetic on Python values: the one definition every engine computes with.

The memory engine evaluates ``+ - * / // %`` with :func:`compute`; the SQL
engines register it (or :func:`floor_divmod_decimal`) as database functions
where SQL's own operators differ from the contract (DESIGN.md, Arithmetic):
``/`` is true division, ``//`` floors and ``%`` takes the divisor's sign, as
in Python, also for Decimal; division or modulo by zero is NULL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["compute", "floor_divmod_decimal"]


def floor_divmod_decimal(a: Decimal, b: Decimal) -> tuple[Decimal, Decimal]:
    """``(a // b, a % b)`` with the quotient floored, as int and float do.

    Decimal's own ``//`` and ``%`` truncate toward zero; here ``%`` keeps
    ``a == b * (a // b) + a % b`` with the remainder taking ``b``'s sign.
    """
    quotient, remainder = a // b, a % b
    if remainder and (remainder < 0) != (b < 0):
        quotient -= 1
        remainder += b
    return quotient, remainder


def compute(op: str, a: Any, b: Any, result_type: type | None = None) -> Any:
    """``a op b`` for non-NULL numbers; ``op`` is add, sub, mul, truediv, floordiv or mod.

    A float ``result_type`` turns Decimal operands into floats first. Division
    (of any kind) by zero gives None, which engines read as NULL.
    """
    if result_type is float:
        if isinstance(a, Decimal):
            a = float(a)
        if isinstance(b, Decimal):
            b = float(b)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if b == 0:
        return None  # division by zero is NULL on every engine
    if op == "truediv":
        return float(a) / float(b)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        quotient, remainder = floor_divmod_decimal(Decimal(a), Decimal(b))
        return quotient if op == "floordiv" else remainder
    if op == "floordiv":
        return a // b
    return a % b
