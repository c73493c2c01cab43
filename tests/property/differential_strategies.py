"""Data, queries and result comparison for the differential tests (every engine vs memory).

One table, ``diff_rows``, holds a nullable column of every contract type
(DESIGN.md, Types). Rows and queries are drawn as plain descriptions (tuples,
so a failing example prints readably and pastes into ``@example``), then built
into real statements through the public API, once per engine's model class.

Queries draw their literals partly from the example's rows (see
:func:`cases`), so conditions meet stored values. The description grammar is
the one of :mod:`tests.property.query_strategies`
(``("col", name)``, ``("lit", value)``, ``("arith", op, left, right)``,
``("cmp", ...)``, ``("in", ...)``, ``("between", ...)``, ``("isnull", ...)``,
``("like", ...)``, ``("affix", ...)``, ``("and"/"or", [...])``, ``("not", c)``),
extended with ``%`` (``"mod"``: it follows Python, TODO.md) and aggregates
``("agg", name, operand or None, distinct)``. Its builders have no ``mod`` and
know only their fixed model's column families, so the builders are here; the
text and LIKE-pattern alphabets (case-folding traps, wildcards, escapes) are
reused from there.

Columns are split where the contract leaves a point open, so one open point
does not turn every example red: ``i``/``f``/``dec`` hold values whose
arithmetic stays inside int64 and 28 Decimal digits, while ``iw``/``fw`` hold
the extremes (int64 bounds, inf, subnormals) and only take part in
comparisons, ordering, ``min``/``max`` and grouping (int64 overflow and
``inf - inf`` are undecided). Naive and aware datetimes live in separate
columns (their mixed ordering is undecided, TODO.md).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from pytuck import Column, declarative_base, func, literal
from pytuck.query.expressions import (
    Ordering,
    and_,
    not_,
    or_,
)
from pytuck.types import INT64_MAX, INT64_MIN
from tests.property.query_strategies import OPERATORS
from tests.property.query_strategies import patterns as ascii_patterns
from tests.property.query_strategies import texts as folding_texts

__all__ = [
    "COLUMN_TYPES",
    "ORDERABLE_COLUMNS",
    "declare_model",
    "rows",
    "row_values",
    "written_value",
    "conditions",
    "cases",
    "observed",
    "resolve",
    "order_terms",
    "select_items",
    "group_queries",
    "build_operand",
    "build_condition",
    "build_ordering",
    "build_item",
    "weighted",
]

UTC = dt.timezone.utc

#: Column name -> type of the ``diff_rows`` table (every column nullable).
COLUMN_TYPES: dict[str, type] = {
    "i": int,  # small ints: arithmetic stays inside int64
    "iw": int,  # int64 extremes: no arithmetic, no sum
    "f": float,  # tame floats: arithmetic stays finite
    "fw": float,  # inf, -inf, subnormals, huge: no arithmetic, no sum/avg
    "dec": Decimal,
    "s": str,
    "s2": str,
    "b": bool,
    "by": bytes,
    "dtn": dt.datetime,  # naive only
    "dta": dt.datetime,  # aware only (comes back in UTC)
    "d": dt.date,
    "tm": dt.time,
    "td": dt.timedelta,
    "u": uuid.UUID,
    "js": list,
    "jd": dict,
}
ORDERABLE_COLUMNS = tuple(n for n, t in COLUMN_TYPES.items() if t not in (list, dict))
ARITHMETIC_COLUMNS = ("i", "f", "dec")
NUMERIC_COLUMNS = ("i", "iw", "f", "fw", "dec")


def declare_model(storage: Any) -> Any:
    """The ``DiffRow`` model (table ``diff_rows``) bound to ``storage``."""
    base: Any = declarative_base(storage)
    namespace: dict[str, Any] = {"__tablename__": "diff_rows", "id": Column(int, primary_key=True)}
    for name, tp in COLUMN_TYPES.items():
        namespace[name] = Column(tp, nullable=True)
    return type("DiffRow", (base,), namespace)


# --- values ------------------------------------------------------------------------------
# Each column mixes a small pool of edge cases (so equal values and ties are
# frequent) with the type's full range.


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``st.one_of`` with weights: it gives a branch listed twice no extra weight."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


def _pool(values: Sequence[Any], wide: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(list(values)), wide)


small_ints = st.one_of(st.integers(-4, 4), st.integers(-10_000, 10_000))
wide_ints = _pool(
    [INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1, 2**53, 2**53 + 1, -(2**53) - 1, 0, -1],
    st.one_of(small_ints, st.integers(INT64_MIN, INT64_MAX)),
)
tame_floats = st.one_of(
    st.integers(-40, 40).map(lambda n: n / 4),
    st.sampled_from([-0.0, 0.1, 0.3, 1e6, -2.5e-3, 1 / 3]),
)
wide_floats = _pool(
    [
        math.inf, -math.inf, -0.0, 0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
        1.7976931348623157e308, -1.7976931348623157e308, 2.0**53, 2.0**63, -(2.0**63), 1e16 + 2,
    ],
    st.one_of(tame_floats, st.floats(allow_nan=False)),
)
decimals = _pool(
    [
        Decimal("1.50"), Decimal("1.5"), Decimal("-0.001"), Decimal("1E+3"), Decimal("1.5E-7"),
        Decimal("0.00"), Decimal("0"), Decimal("-0"), Decimal("12345.6"), Decimal("-7"),
    ],
    st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False),
)
_TRICKY_TEXT = [
    "", " ", "a", "A", "ab", "aB", "Ann", "ann", "ANN", "Bob_x%", "o'Neil", "é", "e\u0301", "É", "ß", "ẞ", "İ", "ı", "\u212a", "Ǆ",
    "🐍", "𝔘nicode", "中文", "'", '"', "''", "%", "_", "\\", "a%b_c\\d", "100%", "tab\tnl\nend",
    "'; DROP TABLE diff_rows; --", "\u00a0", "\uffff", "\U0010ffff",
]
# Lone surrogates and NUL are refused by validation (pytuck.types), so never drawn.
_TEXT_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
# ASCII words weigh most: case folding (like vs ilike) only shows on them.
texts = weighted(
    (1, st.sampled_from(_TRICKY_TEXT)),
    (1, folding_texts),
    (2, st.text("aAbBkKzZ _%\\'", max_size=6)),
    (1, st.text(_TEXT_CHARACTERS, max_size=6)),
)
byte_strings = _pool([b"", b"\x00", b"\xff", b"a", b"a\x00", b"A"], st.binary(max_size=8))
naive_datetimes = _pool(
    [
        dt.datetime.min, dt.datetime.max, dt.datetime(1970, 1, 1),
        dt.datetime(2024, 2, 29, 23, 59, 59, 999999), dt.datetime(2024, 3, 1),
    ],
    st.datetimes(),
)
_ZONES = [
    UTC,
    dt.timezone(dt.timedelta(hours=2)),
    dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
    dt.timezone(dt.timedelta(hours=14)),
]
aware_datetimes = _pool(
    [
        dt.datetime(1970, 1, 1, tzinfo=UTC),
        dt.datetime(2024, 3, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # = 00:00 UTC
        dt.datetime(2024, 3, 1, tzinfo=UTC),
        dt.datetime(2, 1, 1, tzinfo=UTC),
        dt.datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    st.datetimes(
        min_value=dt.datetime(2, 1, 1),
        max_value=dt.datetime(9998, 12, 31),
        timezones=st.sampled_from(_ZONES),
    ),
)
dates = _pool([dt.date.min, dt.date.max, dt.date(1970, 1, 1), dt.date(2024, 2, 29)], st.dates())
times = _pool([dt.time.min, dt.time.max, dt.time(12), dt.time(0, 0, 0, 1)], st.times())
_MAX_SPAN = dt.timedelta(microseconds=INT64_MAX)
timedeltas = _pool(
    [dt.timedelta(0), dt.timedelta(microseconds=-1), dt.timedelta(days=1), dt.timedelta(hours=24),
     dt.timedelta(days=-1, seconds=1), _MAX_SPAN, -_MAX_SPAN],
    st.timedeltas(min_value=-_MAX_SPAN, max_value=_MAX_SPAN),
)
uuids = _pool(
    [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID("12345678-1234-5678-1234-567812345678")],
    st.uuids(),
)
_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, INT64_MAX, INT64_MIN]),
    st.integers(-1000, 1000),
    st.sampled_from([0.5, -0.0, 1.0, 1e-7, 1.5e300, 5e-324]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "é", "🐍", "a\"b", "\\", "%_"]),
    st.text(_TEXT_CHARACTERS, max_size=4),
)
_json_keys = st.one_of(st.sampled_from(["a", "b", "", "ключ", "🐍", "a.b", "$"]), st.text(_TEXT_CHARACTERS, max_size=3))
json_values = st.recursive(
    _json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_json_keys, inner, max_size=3)
    ),
    max_leaves=6,
)
json_lists = _pool([[], [1], [1.0], [True], ["a", None]], st.lists(json_values, max_size=3))
json_dicts = _pool(
    [{}, {"a": 1}, {"a": 1.0}, {"a": True}, {"b": [1, {"c": None}]}],
    st.dictionaries(_json_keys, json_values, max_size=3),
)

#: Column name -> strategy of its non-NULL values.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "i": small_ints,
    "iw": wide_ints,
    "f": tame_floats,
    "fw": wide_floats,
    "dec": decimals,
    "s": texts,
    "s2": texts,
    "b": st.booleans(),
    "by": byte_strings,
    "dtn": naive_datetimes,
    "dta": aware_datetimes,
    "d": dates,
    "tm": times,
    "td": timedeltas,
    "u": uuids,
    "js": json_lists,
    "jd": json_dicts,
}


def _nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


# NULL in about one value of four: frequent, yet most conditions still meet values.
row_values = st.fixed_dictionaries(
    {name: weighted((1, st.none()), (3, VALUES[name])) for name in COLUMN_TYPES}
)
"""One row's column values (every column, NULL allowed; no key)."""


def rows(max_size: int = 10) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Rows with keys ``id`` = 1..n."""
    # The size is drawn first and evenly, so tables of 6-10 rows are as
    # common as tiny ones (a plain list strategy favours short lists).
    return st.integers(0, max_size).flatmap(
        lambda size: st.lists(row_values, min_size=size, max_size=size)
    ).map(lambda values: [{"id": key, **row} for key, row in enumerate(values, start=1)])


def written_value(value: Any) -> Any:
    """What a stored value must read back as: aware datetimes in UTC (DESIGN.md, Types)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


# --- operands ------------------------------------------------------------------------------

_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
_ARITHMETIC = ("add", "sub", "mul", "truediv", "floordiv", "mod")

#: Condition family -> (columns, literal values).
_FAMILIES: dict[str, tuple[tuple[str, ...], st.SearchStrategy[Any]]] = {
    "numeric": (NUMERIC_COLUMNS, st.one_of(small_ints, wide_ints, tame_floats, wide_floats, decimals)),
    "text": (("s", "s2"), texts),
    "bool": (("b",), st.booleans()),
    "bytes": (("by",), byte_strings),
    "naive": (("dtn",), naive_datetimes),
    "aware": (("dta",), aware_datetimes),
    "date": (("d",), dates),
    "time": (("tm",), times),
    "timedelta": (("td",), timedeltas),
    "uuid": (("u",), uuids),
    "list": (("js",), json_lists),
    "dict": (("jd",), json_dicts),
    # Not a condition family: the values arithmetic may use as literals.
    "arithmetic": (ARITHMETIC_COLUMNS, st.one_of(small_ints, tame_floats, decimals, st.just(0))),
}
_CONDITION_FAMILIES = [k for k in _FAMILIES if k != "arithmetic"]
_ORDERED_FAMILIES = [k for k in _CONDITION_FAMILIES if k not in ("list", "dict")]

# Literals are drawn partly from the example's own rows, so equality, ranges
# and LIKE meet stored values (a value drawn blind rarely equals one). Query
# strategies are built once (building them per example cost ~0.2 s each): they
# draw *markers*, which :func:`cases` resolves against the rows it drew first.
#
#   ("stored", key, index, fallback)   the index-th stored value of ``key`` (a
#                                      family, or "col:<name>"), else fallback
#   ("fragment", index, start, length, fallback, swap)   a slice of a stored text,
#                                      its ASCII case swapped if ``swap``
#   ("pattern", fragment, escaped, shape)        a LIKE pattern around a fragment

_INDEX = st.integers(0, 2**16)


def observed(data: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The non-NULL values ``data`` holds, by family and by ``"col:<name>"``."""
    found: dict[str, list[Any]] = {family: [] for family in _FAMILIES}
    found.update({f"col:{name}": [] for name in COLUMN_TYPES})
    for row in data:
        for family, (columns, _) in _FAMILIES.items():
            found[family].extend(row[c] for c in columns if row.get(c) is not None)
        for name in COLUMN_TYPES:
            if row.get(name) is not None:
                found[f"col:{name}"].append(row[name])
    return found


def _stored(key: str, fallback: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(st.just("stored"), st.just(key), _INDEX, fallback)


def _literals(family: str, operand: Any = None) -> st.SearchStrategy[Any]:
    """Literal values of ``family``: mostly values stored in ``operand``'s column,
    else in the family's columns, else drawn afresh."""
    values = _FAMILIES[family][1]
    if operand is not None and operand[0] == "col":
        column = _stored(f"col:{operand[1]}", values)
        return weighted((3, column), (1, _stored(family, values)), (1, values))
    return weighted((2, _stored(family, values)), (1, values))


# Division is where engines differ most (//, % and / by zero, signs, float
# //): it is drawn more often than + - *, and the int column more often than
# the others, so int // int and int % int are common.
_ARITHMETIC_DRAWN = (*_ARITHMETIC, "floordiv", "mod", "truediv")
_arithmetic_columns = st.one_of(
    st.just(("col", "i")), st.tuples(st.just("col"), st.sampled_from(ARITHMETIC_COLUMNS))
)


def arithmetic_operands(depth: int = 2) -> st.SearchStrategy[Any]:
    """A numeric operand safe for arithmetic: a tame column, a literal, or ``a op b``."""
    leaves = st.one_of(_arithmetic_columns, st.tuples(st.just("lit"), _literals("arithmetic")))
    if depth <= 0:
        return leaves
    inner = arithmetic_operands(depth - 1)
    return st.one_of(
        leaves, st.tuples(st.just("arith"), st.sampled_from(_ARITHMETIC_DRAWN), inner, inner)
    )


#: ``column op operand`` for op in //, %, /: the shapes engines get wrong most.
_divisors = st.tuples(st.just("lit"), _literals("arithmetic"))
_DIVISIONS = ["floordiv", "mod", "truediv"]
divisions = weighted(
    # Signs and zero: int // and % floor toward the divisor's sign, / by 0 is NULL.
    (2, st.tuples(
        st.just("arith"),
        st.sampled_from(_DIVISIONS),
        st.just(("col", "i")),
        st.tuples(st.just("lit"), st.sampled_from([2, -2, 3, -3, 7, 0])),
    )),
    # Float // and % as CPython computes them (1.0 // 0.1 is 9.0, not 10.0).
    (1, st.tuples(
        st.just("arith"),
        st.sampled_from(_DIVISIONS),
        st.tuples(st.just("col"), st.sampled_from(["f", "i", "dec"])),
        st.tuples(st.just("lit"), st.sampled_from([0.1, -0.5, 2.5, 0.0, 1 / 3])),
    )),
    (2, st.tuples(
        st.just("arith"),
        st.sampled_from(_DIVISIONS),
        _arithmetic_columns,
        weighted((2, _divisors), (1, st.tuples(st.just("col"), st.sampled_from(ARITHMETIC_COLUMNS)))),
    )),
)


def _column_of(family: str) -> st.SearchStrategy[Any]:
    return st.tuples(st.just("col"), st.sampled_from(_FAMILIES[family][0]))


_ARITHMETIC_OPERANDS = arithmetic_operands()


def _operands(family: str) -> st.SearchStrategy[Any]:
    if family == "numeric":
        return weighted((2, _column_of(family)), (1, divisions), (1, _ARITHMETIC_OPERANDS))
    return _column_of(family)


_family_names = st.sampled_from(_CONDITION_FAMILIES)


@st.composite
def _comparisons(draw: st.DrawFn) -> tuple[Any, ...]:
    family = draw(st.sampled_from(["numeric", "numeric", *_CONDITION_FAMILIES]))
    left = draw(_operands(family))
    literal_side = st.tuples(st.just("lit"), _literals(family, left))
    right = draw(weighted((3, literal_side), (1, st.just(("lit", None))), (1, _operands(family))))
    # A None literal on the right of == / != becomes IS (NOT) NULL, on the left
    # (or with <, >...) an unknown comparison: both are drawn.
    op = draw(st.sampled_from(_COMPARISONS if family in _ORDERED_FAMILIES else ("eq", "ne")))
    return ("cmp", op, left, right) if draw(st.booleans()) else ("cmp", op, right, left)


@st.composite
def _memberships(draw: st.DrawFn) -> tuple[Any, ...]:
    family = draw(_family_names)
    operand = draw(_operands(family))
    values = _literals(family, operand)
    members = draw(st.lists(weighted((3, values), (1, _column_of(family))), max_size=4))
    if draw(st.integers(0, 3)) == 0:
        # A NULL member makes a miss unknown (so not_in never holds): now and then.
        members.insert(draw(st.integers(0, len(members))), None)
    return ("in", operand, members, draw(st.booleans()))


@st.composite
def _ranges(draw: st.DrawFn) -> tuple[Any, ...]:
    family = draw(st.sampled_from(_ORDERED_FAMILIES))
    operand = draw(_operands(family))
    values = _literals(family, operand)
    bound = weighted((4, values), (1, st.none()), (1, _column_of(family)))
    return ("between", operand, draw(bound), draw(bound))


@st.composite
def _null_tests(draw: st.DrawFn) -> tuple[Any, ...]:
    return ("isnull", draw(_operands(draw(_family_names))), draw(st.booleans()))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _without_lone_escape(pattern: str) -> str:
    # A pattern ending in an unescaped backslash is left out: DESIGN.md does not
    # say what it means (memory reads a literal backslash, PostgreSQL refuses it).
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return pattern + "\\" if trailing % 2 else pattern


# The last field swaps ASCII case: then like() and startswith() miss where
# ilike() and istartswith() still match, which tells the two apart.
_fragments = st.tuples(
    st.just("fragment"), _INDEX, st.integers(0, 6), st.integers(0, 6), texts, st.booleans()
)
_PATTERN_SHAPES = ["{}", "%{}", "{}%", "%{}%", "_{}", "{}_%"]
_patterns = weighted(
    (1, ascii_patterns.map(_without_lone_escape)),
    (
        1,
        st.lists(
            st.sampled_from(["%", "_", "\\%", "\\_", "\\\\", "a", "'", "🐍", "e\u0301", "É"]),
            max_size=4,
        ).map("".join),
    ),
    (3, st.tuples(st.just("pattern"), _fragments, st.booleans(), st.sampled_from(_PATTERN_SHAPES))),
)
_AFFIXES = ("startswith", "endswith", "contains", "istartswith", "iendswith", "icontains")
_text_columns = st.tuples(st.just("col"), st.sampled_from(["s", "s2"]))
_text_matches = st.one_of(
    st.tuples(st.just("like"), _text_columns, _patterns, st.booleans(), st.booleans()),
    st.tuples(st.just("affix"), st.sampled_from(_AFFIXES), _text_columns, _fragments),
)
_leaf_conditions = weighted(
    (3, _comparisons()),
    (1, _memberships()),
    (1, _ranges()),
    (1, _null_tests()),
    (2, _text_matches),
)


def conditions(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """A condition tree of and_/or_/not_ over leaf tests (with markers: see :func:`cases`)."""
    # OR is drawn twice as often as AND: AND of two random tests rarely holds.
    return st.recursive(
        _leaf_conditions,
        lambda inner: weighted(
            (2, st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=3))),
            (1, st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=3))),
            (1, st.tuples(st.just("not"), inner)),
        ),
        max_leaves=max_leaves,
    )


def _swap_ascii_case(text: str) -> str:
    return "".join(c.swapcase() if c.isascii() else c for c in text)


def _fragment(marker: tuple[Any, ...], seen: Mapping[str, Sequence[Any]]) -> str:
    _, index, start, length, fallback, swap = marker
    pool = seen.get("text") or [fallback]
    text = str(pool[index % len(pool)])
    start %= len(text) + 1
    # ``length`` 0 (what a shrunk example holds) means "to the end", not "empty".
    piece = text[start:] if length == 0 else text[start : start + length]
    return _swap_ascii_case(piece) if swap else piece


def resolve(description: Any, seen: Mapping[str, Sequence[Any]]) -> Any:
    """``description`` with its markers replaced by values of the rows (``seen``)."""
    if isinstance(description, list):
        return [resolve(part, seen) for part in description]
    if isinstance(description, dict):
        return {key: resolve(part, seen) for key, part in description.items()}
    if not isinstance(description, tuple) or not description:
        return description
    kind = description[0]
    if kind == "stored":
        _, key, index, fallback = description
        pool = seen.get(key)
        return pool[index % len(pool)] if pool else fallback
    if kind == "fragment":
        return _fragment(description, seen)
    if kind == "pattern":
        _, marker, escaped, shape = description
        text = _fragment(marker, seen)
        return str(shape.format(_escape(text) if escaped else _without_lone_escape(text)))
    return tuple(resolve(part, seen) for part in description)


def cases(query: st.SearchStrategy[Any], max_rows: int = 10) -> st.SearchStrategy[tuple[list[dict[str, Any]], Any]]:
    """``(rows, query)``: the query's literals resolved partly to values of the rows."""
    return st.tuples(rows(max_rows), query).map(
        lambda pair: (pair[0], resolve(pair[1], observed(pair[0])))
    )


_order_elements = weighted(
    (2, st.tuples(st.just("col"), st.sampled_from(ORDERABLE_COLUMNS))),
    (1, divisions),
    (1, st.tuples(st.just("arith"), st.sampled_from(_ARITHMETIC), _arithmetic_columns, arithmetic_operands(0))),
)
order_terms = st.tuples(_order_elements, st.booleans(), st.sampled_from([None, "first", "last"]))
"""One ``(element, descending, nulls)`` ordering term (may hold markers)."""

select_items = weighted(
    (2, st.tuples(st.just("col"), st.sampled_from(list(COLUMN_TYPES)))),
    (1, divisions),
    (1, arithmetic_operands()),
)
"""One output column: any column, or arithmetic over the tame numeric columns (may hold markers)."""

# --- grouping ------------------------------------------------------------------------------

_group_terms = st.one_of(
    st.tuples(st.just("col"), st.sampled_from([*ORDERABLE_COLUMNS, "js", "jd"])),
    st.tuples(
        st.just("arith"),
        st.sampled_from(["mod", "floordiv"]),
        st.tuples(st.just("col"), st.just("i")),
        st.tuples(st.just("lit"), st.sampled_from([2, 3, -3])),
    ),
)
_numeric_columns = st.tuples(st.just("col"), st.sampled_from(ARITHMETIC_COLUMNS))
_aggregates = st.one_of(
    st.just(("agg", "count", None, False)),
    st.tuples(st.just("agg"), st.just("count"), st.tuples(st.just("col"), st.sampled_from(list(COLUMN_TYPES))), st.booleans()),
    st.tuples(st.just("agg"), st.sampled_from(["sum", "avg"]), _numeric_columns, st.just(False)),
    st.tuples(st.just("agg"), st.sampled_from(["sum", "avg"]), arithmetic_operands(1), st.just(False)),
    st.tuples(
        st.just("agg"),
        st.sampled_from(["min", "max"]),
        st.tuples(st.just("col"), st.sampled_from(ORDERABLE_COLUMNS)),
        st.just(False),
    ),
)
_having_aggregates = st.one_of(
    st.just(("agg", "count", None, False)),
    st.tuples(st.just("agg"), st.sampled_from(["sum", "avg", "min", "max"]), _numeric_columns, st.just(False)),
)
_having_leaves = st.one_of(
    st.tuples(
        st.just("cmp"),
        st.sampled_from(_COMPARISONS),
        _having_aggregates,
        st.tuples(st.just("lit"), st.one_of(st.integers(-1, 6), _literals("arithmetic"))),
    ),
    st.tuples(st.just("isnull"), _having_aggregates, st.booleans()),
)
_having = st.recursive(
    _having_leaves,
    lambda inner: st.one_of(
        st.tuples(st.just("and"), st.lists(inner, min_size=2, max_size=2)),
        st.tuples(st.just("or"), st.lists(inner, min_size=2, max_size=2)),
        st.tuples(st.just("not"), inner),
    ),
    max_leaves=3,
)

group_queries = st.fixed_dictionaries(
    {
        "group": st.lists(_group_terms, max_size=2, unique=True),
        "aggregates": st.lists(_aggregates, min_size=1, max_size=3),
        "where": st.one_of(st.none(), conditions(4)),
        "having": st.one_of(st.none(), _having),
    }
)
"""A GROUP BY query: group terms (maybe none), aggregates, optional where and having."""


# --- building the expression tree ------------------------------------------------------------



def build_operand(description: Any, model: Any) -> Any:
    """The expression an operand or select-item description stands for."""
    kind = description[0]
    if kind == "col":
        return getattr(model, description[1])
    if kind == "lit":
        return literal(description[1])
    if kind == "agg":
        _, name, operand, distinct = description
        if operand is None:
            return func.count()
        argument = build_operand(operand, model)
        if name == "count":
            return func.count(argument, distinct=distinct)
        return getattr(func, name)(argument)
    _, op, left, right = description
    return OPERATORS[op](build_operand(left, model), build_operand(right, model))


build_item = build_operand


def _value(description: Any, model: Any) -> Any:
    # A plain value stays plain (the column's operator converts it); JSON list
    # values are lists, never tuples, so a tuple is always a column description.
    if isinstance(description, tuple):
        return build_operand(description, model)
    return description


def build_condition(description: Any, model: Any) -> Any:
    """The condition tree a description stands for, built with the public operators."""
    kind = description[0]
    if kind == "cmp":
        _, op, left, right = description
        if right[0] == "lit" and left[0] != "lit":
            # As users write it: Row.i > 5 (the column converts the plain value).
            return OPERATORS[op](build_operand(left, model), right[1])
        return OPERATORS[op](build_operand(left, model), build_operand(right, model))
    if kind == "in":
        _, operand, members, negate = description
        target = build_operand(operand, model)
        values = [_value(member, model) for member in members]
        return target.not_in(values) if negate else target.in_(values)
    if kind == "between":
        _, operand, low, high = description
        return build_operand(operand, model).between(_value(low, model), _value(high, model))
    if kind == "isnull":
        _, operand, negate = description
        target = build_operand(operand, model)
        return target.is_not(None) if negate else target.is_(None)
    if kind == "like":
        _, operand, pattern, fold, negate = description
        target = build_operand(operand, model)
        if negate:
            return target.not_like(pattern)
        return target.ilike(pattern) if fold else target.like(pattern)
    if kind == "affix":
        _, method, operand, text = description
        return getattr(build_operand(operand, model), method)(text)
    if kind == "not":
        return not_(build_condition(description[1], model))
    parts = [build_condition(part, model) for part in description[1]]
    return and_(*parts) if kind == "and" else or_(*parts)


def build_ordering(term: Any, model: Any) -> Ordering:
    """An :class:`Ordering` from ``(element, descending, nulls)``."""
    element, descending, nulls = term
    target = build_operand(element, model)
    ordering: Ordering = target.desc() if descending else target.asc()
    if nulls == "first":
        ordering = ordering.nulls_first()
    elif nulls == "last":
        ordering = ordering.nulls_last()
    return ordering
