"""DuckDB value encodings and the Python functions registered on every database.

Decimal is ``STRUCT(key VARCHAR, text VARCHAR)`` (:func:`decimal_key`: an
order-preserving key, equal for ``1.5`` and ``1.50``, next to the exact text);
datetime is ``STRUCT(utc TIMESTAMP, aware BOOLEAN)``. The registered functions
compute, in Python and exactly as the memory engine does, what DuckDB cannot:
Decimal arithmetic, sum and avg, Decimal-float comparison, floats' ``//`` and
``%``, and JSON documents compared as Python's ``==`` compares them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import duckdb
import orjson

from pytuck.query.arithmetic import compute
from pytuck.schema import TableSchema
from pytuck.types import INT64_MAX, INT64_MIN

try:  # the Arrow bulk path; without pyarrow, rows go in as multi-row VALUES
    import pyarrow as pa  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - pyarrow is part of the duckdb extra
    pa = None

#: Whether bulk inserts can go through Arrow.
_ARROW = pa is not None

__all__ = ["decimal_key", "decimal_from_key"]

_UTC = dt.timezone.utc
_DECIMAL_SQL = "STRUCT(key VARCHAR, text VARCHAR)"
_DATETIME_SQL = "STRUCT(utc TIMESTAMP, aware BOOLEAN)"


# --- Decimal keys -------------------------------------------------------------------------

_COMPLEMENT = str.maketrans("0123456789", "9876543210")
# Exponents are written with 19 digits around this bias: wide enough for any
# exponent Python's decimal module can hold (|exponent| < 2 * 10**18).
_EXPONENT_BIAS = 2 * 10**18
_EXPONENT_WIDTH = 19


def decimal_key(value: Decimal) -> str:
    """Text that sorts, byte by byte, as the Decimal values sort; equal for equal values.

    ``1.5`` and ``1.50`` get one key; zero (any sign or scale) is ``"1"``;
    positive values start ``"2"`` + exponent + digits; negative ones ``"0"`` +
    the complemented exponent and digits + ``"~"`` (so a shorter digit run,
    the larger negative value, sorts after a longer one it prefixes);
    infinities (a float literal compared with Decimals) ``"/"`` and ``"3"``.

    Example::

        decimal_key(Decimal("1.50")) == decimal_key(Decimal("1.5"))
        decimal_key(Decimal("-2")) < decimal_key(Decimal("0")) < decimal_key(Decimal("0.1"))
    """
    if value.is_infinite():  # a float infinity compared with Decimals, bound exactly
        return "/" if value < 0 else "3"
    sign, digit_tuple, _ = value.as_tuple()
    digits = "".join(map(str, digit_tuple)).strip("0")
    if not digits:
        return "1"
    adjusted = value.adjusted()
    if sign == 0:
        return "2" + str(_EXPONENT_BIAS + adjusted).zfill(_EXPONENT_WIDTH) + digits
    complemented = digits.translate(_COMPLEMENT)
    return "0" + str(_EXPONENT_BIAS - adjusted).zfill(_EXPONENT_WIDTH) + complemented + "~"


def decimal_from_key(key: str) -> Decimal:
    """The Decimal a :func:`decimal_key` stands for (normalized: ``1.5``, not ``1.50``)."""
    if key == "1":
        return Decimal(0)
    if key in ("/", "3"):
        return Decimal("-Infinity" if key == "/" else "Infinity")
    exponent_text = key[1 : 1 + _EXPONENT_WIDTH]
    if key[0] == "2":
        adjusted = int(exponent_text) - _EXPONENT_BIAS
        digits, sign = key[1 + _EXPONENT_WIDTH :], 0
    else:
        adjusted = _EXPONENT_BIAS - int(exponent_text)
        digits, sign = key[1 + _EXPONENT_WIDTH : -1].translate(_COMPLEMENT), 1
    return Decimal((sign, tuple(int(d) for d in digits), adjusted - len(digits) + 1))


# --- values: Python <-> driver ------------------------------------------------------------


def _decimal_to_driver(value: Any) -> dict[str, str]:
    number = value if isinstance(value, Decimal) else Decimal(value)
    return {"key": decimal_key(number), "text": str(number)}


def _decimal_from_driver(value: Any) -> Decimal:
    if isinstance(value, dict):
        return Decimal(value["text"])
    if isinstance(value, str):  # a DISTINCT item: the key alone
        return decimal_from_key(value)
    return Decimal(value)


def _datetime_to_driver(value: dt.datetime) -> dict[str, Any]:
    if value.tzinfo is None:
        return {"utc": value, "aware": False}
    if value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    return {"utc": value.replace(tzinfo=None), "aware": True}


def _datetime_from_driver(value: dict[str, Any]) -> dt.datetime:
    moment: dt.datetime = value["utc"]
    return moment.replace(tzinfo=_UTC) if value["aware"] else moment


def _uuid_text(value: Any) -> Any:
    return None if value is None else str(value)


def _arrow_type(tp: type) -> Any:
    """The Arrow type a column's driver values are loaded through (bulk insert)."""
    if tp is bool:
        return pa.bool_()
    if tp is int or tp is dt.timedelta:
        return pa.int64()
    if tp is float:
        return pa.float64()
    if tp is bytes:
        return pa.binary()
    if tp is dt.date:
        return pa.date32()
    if tp is dt.time:
        return pa.time64("us")
    if tp is dt.datetime:
        return pa.struct([("utc", pa.timestamp("us")), ("aware", pa.bool_())])
    if tp is Decimal:
        return pa.struct([("key", pa.string()), ("text", pa.string())])
    return pa.string()  # str, UUID (as text), JSON documents


def _arrow_relation(table: TableSchema, rows: Sequence[Sequence[Any]]) -> Any:
    """Driver rows of ``table`` as a ``pyarrow.Table`` (columns ``c0``, ``c1``, ...)."""
    arrays = []
    for index, column in enumerate(table.columns):
        values = [row[index] for row in rows]
        if column.type is uuid.UUID:
            values = [_uuid_text(v) for v in values]
        arrays.append(pa.array(values, _arrow_type(column.type)))
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])


# --- Python functions registered on every database ----------------------------------------


def _decimal_arith(op: str | None, left: str | None, right: str | None) -> dict[str, str] | None:
    """``left op right`` over Decimal (or int) text, exactly as the memory engine computes it."""
    if op is None or left is None or right is None:
        return None
    result = compute(op, Decimal(left), Decimal(right))
    if result is None:
        return None  # division by zero is NULL on every engine
    return _decimal_to_driver(result)


def _float_arith(op: str | None, left: float | None, right: float | None) -> float | None:
    """Python's ``//`` and ``%`` of floats (DuckDB's ``//`` of doubles does not floor)."""
    if op is None or left is None or right is None or right == 0:
        return None
    return left // right if op == "floordiv" else left % right


def _decimal_compare(left: str | None, right: float | None) -> int | None:
    """-1, 0 or 1 comparing Decimal text with a float exactly, as Python does."""
    if left is None or right is None:
        return None
    a = Decimal(left)
    return int(a > right) - int(a < right)


def _decimal_of_text(text: str) -> dict[str, str]:
    return _decimal_to_driver(Decimal(text))


def _decimal_values(values: Iterable[str | None] | None) -> list[Decimal]:
    return [Decimal(v) for v in values or () if v is not None]


def _decimal_sum(values: list[str | None] | None) -> dict[str, str] | None:
    numbers = _decimal_values(values)
    return _decimal_to_driver(sum(numbers)) if numbers else None


def _decimal_avg(values: list[str | None] | None) -> float | None:
    numbers = _decimal_values(values)
    return float(sum(numbers)) / len(numbers) if numbers else None


def _json_equality_form(value: Any) -> Any:
    # Python's == on documents compares numbers by value: True == 1 == 1.0.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer() and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    if isinstance(value, list):
        return [_json_equality_form(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_equality_form(item) for key, item in value.items()}
    return value


def _json_key(text: str) -> str:
    """JSON text equal for documents Python's ``==`` finds equal (``[1]`` and ``[1.0]``)."""
    document = _json_equality_form(orjson.loads(text))
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def _register_functions(raw: duckdb.DuckDBPyConnection) -> None:
    # Types by name: the Python type objects moved between duckdb releases
    # (duckdb.typing in 1.x, duckdb.sqltypes in 2.x); names work in both.
    special: Any = "special"
    default: Any = "default"
    functions: list[tuple[str, Callable[..., Any], list[str], str, Any]] = [
        ("pytuck_decimal", _decimal_of_text, ["VARCHAR"], _DECIMAL_SQL, default),
        ("pytuck_json_key", _json_key, ["VARCHAR"], "VARCHAR", default),
        ("pytuck_decimal_arith", _decimal_arith, ["VARCHAR"] * 3, _DECIMAL_SQL, special),
        ("pytuck_float_arith", _float_arith, ["VARCHAR", "DOUBLE", "DOUBLE"], "DOUBLE", special),
        ("pytuck_decimal_compare", _decimal_compare, ["VARCHAR", "DOUBLE"], "INTEGER", special),
        ("pytuck_decimal_sum", _decimal_sum, ["VARCHAR[]"], _DECIMAL_SQL, special),
        ("pytuck_decimal_avg", _decimal_avg, ["VARCHAR[]"], "DOUBLE", special),
    ]
    for name, function, parameters, result, nulls in functions:
        types: Any = parameters
        returns: Any = result
        raw.create_function(name, function, types, returns, null_handling=nulls)
