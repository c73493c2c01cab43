"""The column types of the contract and the conversion of values into them.

Thirteen Python types may back a column: ``int, float, str, bool, bytes,
datetime, date, time, timedelta, Decimal, UUID, list, dict``. This module knows
how to check (strict mode) or convert (loose mode) a value into each, the
stable name of each type in stored schemas, and the sort key that orders them
the way the contract says (DESIGN.md, Ordering).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

__all__ = [
    "SUPPORTED_TYPES",
    "TYPE_NAMES",
    "type_from_name",
    "type_name",
    "convert_value",
    "converter_for",
    "ConversionFailure",
    "INT64_MIN",
    "INT64_MAX",
    "is_orderable_type",
    "is_json_type",
    "normalize_datetime",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: Python type -> the stable name used in stored schemas.
TYPE_NAMES: dict[type, str] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    bytes: "bytes",
    dt.datetime: "datetime",
    dt.date: "date",
    dt.time: "time",
    dt.timedelta: "timedelta",
    Decimal: "decimal",
    uuid.UUID: "uuid",
    list: "list",
    dict: "dict",
}
_TYPES_BY_NAME = {name: tp for tp, name in TYPE_NAMES.items()}
SUPPORTED_TYPES: tuple[type, ...] = tuple(TYPE_NAMES)


class ConversionFailure(Exception):
    """Raised by :func:`convert_value`; the caller adds model and column names."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def type_name(tp: type) -> str:
    """Return the stored name of a column type (``int`` -> ``"int"``)."""
    try:
        return TYPE_NAMES[tp]
    except KeyError:
        raise ConversionFailure(
            f"unsupported column type {tp!r}; use one of "
            + ", ".join(t.__name__ for t in SUPPORTED_TYPES)
        ) from None


def type_from_name(name: str) -> type:
    """Return the Python type for a stored type name (``"int"`` -> ``int``)."""
    try:
        return _TYPES_BY_NAME[name]
    except KeyError:
        raise ConversionFailure(f"unknown stored column type {name!r}") from None


def is_orderable_type(tp: type) -> bool:
    """True when values of ``tp`` have a total order (so a sorted index makes sense)."""
    return tp not in (list, dict)


def is_json_type(tp: type) -> bool:
    """True for the JSON document types (``list`` and ``dict``)."""
    return tp in (list, dict)


def normalize_datetime(value: dt.datetime) -> dt.datetime:
    """Aware datetimes become the same instant in UTC; naive ones are kept.

    See DESIGN.md, Types: aware datetimes come back as the same instant in UTC.
    """
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.timezone.utc)
    return value.replace(tzinfo=None) if value.tzinfo is not None else value


# --- converters: (value, strict) -> converted value, or ConversionFailure ---

_TRUE_WORDS = {"true", "yes", "y", "on", "1", "t"}
_FALSE_WORDS = {"false", "no", "n", "off", "0", "f"}


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _fail(expected: str, value: Any) -> ConversionFailure:
    return ConversionFailure(f"expected {expected}, got {_describe(value)}")


def _check_int_range(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ConversionFailure(
            f"integer {value} is outside the 64-bit range every engine stores"
        )
    return value


def _to_int(value: Any, strict: bool) -> int:
    if isinstance(value, bool):
        raise _fail("int", value)
    if isinstance(value, int):
        return _check_int_range(int(value))
    if strict:
        raise _fail("int", value)
    if isinstance(value, str):
        try:
            return _check_int_range(int(value.strip()))
        except ValueError:
            raise _fail("int", value) from None
    if isinstance(value, float) and value.is_integer():
        return _check_int_range(int(value))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return _check_int_range(int(value))
    raise _fail("int", value)


def _check_float(value: float) -> float:
    if math.isnan(value):
        raise ConversionFailure("NaN cannot be stored (engines disagree on it); use None")
    return value


def _to_float(value: Any, strict: bool) -> float:
    if isinstance(value, bool):
        raise _fail("float", value)
    if isinstance(value, float):
        return _check_float(value)
    if isinstance(value, int):
        return float(value)
    if strict:
        raise _fail("float", value)
    if isinstance(value, (str, Decimal)):
        try:
            return _check_float(float(value))
        except ValueError:
            raise _fail("float", value) from None
    raise _fail("float", value)


def _to_str(value: Any, strict: bool) -> str:
    if isinstance(value, str):
        if "\x00" in value:
            raise ConversionFailure("text may not contain NUL characters (\\x00)")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ConversionFailure(
                    f"text holds a lone surrogate at position {exc.start}; it is not valid "
                    "UTF-8 and no engine can store it"
                ) from None
        return value
    if strict or isinstance(value, bool):
        raise _fail("str", value)
    if isinstance(value, (int, float, Decimal, uuid.UUID)):
        return str(value)
    raise _fail("str", value)


def _to_bool(value: Any, strict: bool) -> bool:
    if isinstance(value, bool):
        return value
    if strict:
        raise _fail("bool", value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise _fail("bool", value)


def _to_bytes(value: Any, strict: bool) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if not strict and isinstance(value, str):
        return value.encode("utf-8")
    raise _fail("bytes", value)


def _parse_iso_datetime(text: str) -> dt.datetime:
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def _to_utc(value: dt.datetime) -> dt.datetime:
    try:
        return normalize_datetime(value)
    except OverflowError:
        raise ConversionFailure(
            f"{value.isoformat()} is outside the datetime range once moved to UTC"
        ) from None


def _to_datetime(value: Any, strict: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return _to_utc(value)
    if strict:
        raise _fail("datetime", value)
    if isinstance(value, str):
        try:
            parsed = _parse_iso_datetime(value)
        except ValueError:
            raise _fail("datetime (ISO 8601 text)", value) from None
        return _to_utc(parsed)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise _fail("datetime (a POSIX timestamp in range)", value) from None
    raise _fail("datetime", value)


def _to_date(value: Any, strict: bool) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not strict and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _fail("date (ISO 8601 text)", value) from None
    raise _fail("date", value)


def _to_time(value: Any, strict: bool) -> dt.time:
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ConversionFailure(
                f"time with a timezone is not stored ({value!r}); use a naive time"
            )
        return value
    if not strict and isinstance(value, str):
        try:
            return _to_time(dt.time.fromisoformat(value.strip()), strict)
        except ValueError:
            raise _fail("time (ISO 8601 text)", value) from None
    raise _fail("time", value)


#: The widest timedelta every engine stores: 64-bit microseconds, like int columns.
_MAX_TIMEDELTA = dt.timedelta(microseconds=INT64_MAX)


def _check_timedelta(value: dt.timedelta) -> dt.timedelta:
    if not -_MAX_TIMEDELTA <= value <= _MAX_TIMEDELTA:
        raise ConversionFailure(
            f"timedelta {value} is outside the 64-bit microsecond range every engine stores"
        )
    return value


def _to_timedelta(value: Any, strict: bool) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return _check_timedelta(value)
    if strict:
        raise _fail("timedelta", value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _check_timedelta(dt.timedelta(seconds=value))
        except OverflowError:
            raise _fail("timedelta (seconds or HH:MM:SS)", value) from None
    if isinstance(value, str):
        parts = value.strip().split(":")
        try:
            if len(parts) == 3:
                hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
                sign = -1 if parts[0].startswith("-") else 1
                return _check_timedelta(
                    dt.timedelta(hours=hours, minutes=sign * minutes, seconds=sign * seconds)
                )
            return _check_timedelta(dt.timedelta(seconds=float(value)))
        except (ValueError, OverflowError):
            raise _fail("timedelta (seconds or HH:MM:SS)", value) from None
    raise _fail("timedelta", value)


def _to_decimal(value: Any, strict: bool) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ConversionFailure(f"Decimal {value} cannot be stored; use a finite value")
        return value
    if strict or isinstance(value, bool):
        raise _fail("Decimal", value)
    if isinstance(value, (int, str, float)):
        try:
            result = Decimal(str(value).strip()) if not isinstance(value, int) else Decimal(value)
        except InvalidOperation:
            raise _fail("Decimal", value) from None
        return _to_decimal(result, strict)
    raise _fail("Decimal", value)


def _to_uuid(value: Any, strict: bool) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if strict:
        raise _fail("UUID", value)
    try:
        if isinstance(value, str):
            return uuid.UUID(value.strip())
        if isinstance(value, bytes) and len(value) == 16:
            return uuid.UUID(bytes=value)
    except ValueError:
        raise _fail("UUID", value) from None
    raise _fail("UUID", value)


def check_json_document(value: Any, where: str = "$") -> None:
    """Raise :class:`ConversionFailure` unless ``value`` is a plain JSON document.

    JSON documents hold only None, bool, int (64-bit), finite float, str, list
    and dict with str keys, so they round-trip exactly on every engine.
    """
    problem = _json_problem(value)
    if problem is not None:
        path, reason = problem
        raise ConversionFailure(reason.replace("{where}", where + path))


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "text at {where} may not contain NUL characters (\\x00)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "text at {where} holds a lone surrogate (not valid UTF-8)"
    return None


def _json_problem(value: Any) -> tuple[str, str] | None:
    """(path below the document's root, reason with a ``{where}`` slot), or None.

    The path is only built on the way out of a failure: walking a valid
    document formats no strings.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        reason = _text_problem(value)
        return None if reason is None else ("", reason)
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return ("", "integer at {where} is outside the 64-bit range")
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return ("", "non-finite float at {where} is not valid JSON")
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            if type(item) is str and item.isascii() and "\x00" not in item:
                continue  # the common case, without a call
            problem = _json_problem(item)
            if problem is not None:
                return (f"[{index}]{problem[0]}", problem[1])
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return ("", f"key {key!r} at {{where}} is not a string")
            if _text_problem(key) is not None:
                return ("", f"key {key!r} at {{where}} may not contain NUL characters or lone surrogates")
            problem = _json_problem(item)
            if problem is not None:
                return (f".{key}{problem[0]}", problem[1])
        return None
    return (
        "",
        f"{_describe(value)} at {{where}} is not a JSON value "
        "(use None, bool, int, float, str, list or dict)",
    )


def _to_list(value: Any, strict: bool) -> list[Any]:
    if isinstance(value, list):
        check_json_document(value)
        return value
    if strict:
        raise _fail("list", value)
    if isinstance(value, tuple):
        return _to_list(list(value), strict)
    if isinstance(value, str):
        try:
            decoded = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise _fail("list (or JSON text of one)", value) from None
        if isinstance(decoded, list):
            check_json_document(decoded)
            return decoded
    raise _fail("list", value)


def _to_dict(value: Any, strict: bool) -> dict[str, Any]:
    if isinstance(value, dict):
        check_json_document(value)
        return value
    if not strict and isinstance(value, str):
        try:
            decoded = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise _fail("dict (or JSON text of one)", value) from None
        if isinstance(decoded, dict):
            check_json_document(decoded)
            return decoded
    raise _fail("dict", value)


_CONVERTERS: dict[type, Callable[[Any, bool], Any]] = {
    int: _to_int,
    float: _to_float,
    str: _to_str,
    bool: _to_bool,
    bytes: _to_bytes,
    dt.datetime: _to_datetime,
    dt.date: _to_date,
    dt.time: _to_time,
    dt.timedelta: _to_timedelta,
    Decimal: _to_decimal,
    uuid.UUID: _to_uuid,
    list: _to_list,
    dict: _to_dict,
}


def converter_for(tp: type) -> Callable[[Any, bool], Any]:
    """The conversion function of one type: ``fn(value, strict)`` (value not None)."""
    return _CONVERTERS[tp]


def convert_value(value: Any, tp: type, strict: bool = False) -> Any:
    """Check (``strict``) or convert (loose) ``value`` into column type ``tp``.

    ``None`` passes through unchanged: nullability is the caller's rule.

    Raises:
        ConversionFailure: the value does not fit; the reason says why.
    """
    if value is None:
        return None
    return _CONVERTERS[tp](value, strict)
