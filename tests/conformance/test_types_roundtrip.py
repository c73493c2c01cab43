"""Column types (DESIGN.md, Types): every contract type round-trips exactly and
comes back as the same Python type, within a session, in a new session and
after reopening the database; loose conversion versus ``strict=True``; and the
errors a value that does not fit raises.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytuck import (
    Column,
    Session,
    ValidationError,
    declarative_base,
    insert,
    select,
    update,
)

UTC = dt.timezone.utc

#: Column name -> type of the Sample model.
COLUMNS: dict[str, type] = {
    "number": int,
    "real": float,
    "text": str,
    "flag": bool,
    "blob": bytes,
    "moment": dt.datetime,
    "day": dt.date,
    "clock": dt.time,
    "span": dt.timedelta,
    "money": Decimal,
    "ident": uuid.UUID,
    "items": list,
    "doc": dict,
}


def declare_sample(storage: Any, strict: bool = False) -> Any:
    """The Sample model (one nullable column per contract type) on ``storage``."""
    base = declarative_base(storage)
    namespace: dict[str, Any] = {
        "__tablename__": "samples",
        "id": Column(int, primary_key=True),
    }
    for name, tp in COLUMNS.items():
        namespace[name] = Column(tp, strict=strict)
    return type("Sample", (base,), namespace)


@pytest.fixture
def Sample(storage: Any) -> Any:  # noqa: N802
    """The Sample model on the storage under test."""
    return declare_sample(storage)


# One or more demanding values per type; each must come back equal and of the same type.
CASES: list[tuple[str, Any]] = [
    ("number", 0),
    ("number", -1),
    ("number", 2**63 - 1),
    ("number", -(2**63)),
    ("real", 0.1),
    ("real", -1.5e308),
    ("real", 5e-324),
    ("real", 1e16 + 2),
    ("real", float("inf")),
    ("real", float("-inf")),
    ("text", ""),
    ("text", "Ünïcødé ✓ 🐍 中文"),
    ("text", "tab\tnew\nline\r 'single' \"double\" \\ back % _ ;--"),
    ("text", "x" * 10_000),
    ("text", " padded "),
    ("flag", True),
    ("flag", False),
    ("blob", b""),
    ("blob", bytes(range(256))),
    ("blob", b"\x00\x00"),
    ("moment", dt.datetime(2024, 2, 29, 23, 59, 59, 999_999)),
    ("moment", dt.datetime(1, 1, 1)),
    ("moment", dt.datetime(9999, 12, 31, 23, 59, 59, 999_999)),
    ("moment", dt.datetime(1970, 1, 1, 0, 0, 0, 1)),
    ("day", dt.date(2024, 2, 29)),
    ("day", dt.date(1, 1, 1)),
    ("day", dt.date(9999, 12, 31)),
    ("clock", dt.time(0, 0)),
    ("clock", dt.time(23, 59, 59, 999_999)),
    ("clock", dt.time(12, 0, 0, 1)),
    ("span", dt.timedelta(0)),
    ("span", dt.timedelta(days=-1, microseconds=1)),
    ("span", dt.timedelta(days=99_999, seconds=86_399, microseconds=999_999)),
    ("span", dt.timedelta(microseconds=-1)),
    ("money", Decimal("0.1")),
    ("money", Decimal("1.50")),
    ("money", Decimal("-123456789012345678901234567890.123456789")),
    ("money", Decimal("0.000000000000000000000000000001")),
    ("money", Decimal("0")),
    ("ident", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("ident", uuid.UUID(int=0)),
    ("ident", uuid.UUID(int=2**128 - 1)),
    ("items", []),
    ("items", [1, "a", None, True, False, 1.5, {"k": [1, {"deep": []}]}]),
    ("items", [[[]], -(2**63), 2**63 - 1, ""]),
    ("doc", {}),
    ("doc", {"a": 1, "b": [1, 2, {"c": None}], "ü": "ß", "": 0, "n": {"m": {"o": 1.25}}}),
    ("doc", {"true": True, "false": False, "null": None, "1": "one"}),
]
CASE_IDS = [f"{name}-{index}" for index, (name, _) in enumerate(CASES)]


def assert_same(got: Any, expected: Any) -> None:
    """Equal, of the same type, and for Decimal with the same digits and scale."""
    assert got == expected
    assert type(got) is type(expected)
    if isinstance(expected, Decimal):
        assert str(got) == str(expected)
    if isinstance(expected, dt.datetime) and expected.tzinfo is not None:
        assert got.utcoffset() == dt.timedelta(0)


def store(storage: Any, Sample: Any, **values: Any) -> Any:  # noqa: N803
    """Insert one Sample and commit; return its key."""
    with Session(storage) as session:
        key = session.execute(insert(Sample).values(**values)).inserted_primary_key
        session.commit()
    return key


def read(storage: Any, Sample: Any, key: Any, name: str) -> Any:  # noqa: N803
    """One column of one Sample, read in a new session through select()."""
    with Session(storage) as session:
        return session.execute(select(getattr(Sample, name)).where(Sample.id == key)).scalar_one()


# --- exact round trips ------------------------------------------------------------------


@pytest.mark.parametrize("name, value", CASES, ids=CASE_IDS)
def test_value_round_trips_within_one_session(
    storage: Any, Sample: Any, name: str, value: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        key = session.execute(insert(Sample).values({name: value})).inserted_primary_key
        got = session.execute(select(getattr(Sample, name)).where(Sample.id == key)).scalar()
    assert_same(got, value)


@pytest.mark.parametrize("name, value", CASES, ids=CASE_IDS)
def test_value_round_trips_in_a_new_session(
    storage: Any, Sample: Any, name: str, value: Any  # noqa: N803
) -> None:
    key = store(storage, Sample, **{name: value})
    assert_same(read(storage, Sample, key, name), value)
    with Session(storage) as session:
        instance = session.get(Sample, key)
        assert instance is not None
        assert_same(getattr(instance, name), value)


@pytest.mark.parametrize("name, value", CASES, ids=CASE_IDS)
def test_value_round_trips_through_an_instance(
    storage: Any, Sample: Any, name: str, value: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        sample = Sample(**{name: value})
        session.add(sample)
        session.commit()
        key = sample.id
    with Session(storage) as session:
        loaded = session.query(Sample).filter(Sample.id == key).one()
        assert_same(getattr(loaded, name), value)


def test_every_value_round_trips_after_reopen(make_storage: Any) -> None:
    storage = make_storage()
    sample = declare_sample(storage)
    keys = [store(storage, sample, **{name: value}) for name, value in CASES]
    reopened = make_storage.reopen(storage)
    sample = declare_sample(reopened)
    for key, (name, value) in zip(keys, CASES):
        assert_same(read(reopened, sample, key, name), value)


def test_all_types_in_one_row_round_trip(storage: Any, Sample: Any) -> None:  # noqa: N803
    row = {name: value for name, value in CASES}  # the last case of each type wins
    key = store(storage, Sample, **row)
    with Session(storage) as session:
        got = session.execute(select(*(getattr(Sample, n) for n in COLUMNS)).where(Sample.id == key)).one()
    for name, value in row.items():
        assert_same(got[name], value)


def test_null_round_trips_in_every_column(storage: Any, Sample: Any) -> None:  # noqa: N803
    key = store(storage, Sample, **dict.fromkeys(COLUMNS))
    with Session(storage) as session:
        got = session.execute(select(*(getattr(Sample, n) for n in COLUMNS)).where(Sample.id == key)).one()
    assert tuple(got) == (None,) * len(COLUMNS)


def test_bool_comes_back_as_bool_not_int(storage: Any, Sample: Any) -> None:  # noqa: N803
    key = store(storage, Sample, flag=True)
    got = read(storage, Sample, key, "flag")
    assert got is True


def test_aware_datetime_comes_back_as_the_same_instant_in_utc(
    storage: Any, Sample: Any  # noqa: N803
) -> None:
    oslo_summer = dt.timezone(dt.timedelta(hours=2))
    value = dt.datetime(2024, 7, 1, 1, 30, 15, 123_456, tzinfo=oslo_summer)
    key = store(storage, Sample, moment=value)
    got = read(storage, Sample, key, "moment")
    assert got == value
    assert got.utcoffset() == dt.timedelta(0)
    assert got.replace(tzinfo=None) == dt.datetime(2024, 6, 30, 23, 30, 15, 123_456)


def test_aware_datetime_after_reopen_is_utc(make_storage: Any) -> None:
    storage = make_storage()
    sample = declare_sample(storage)
    value = dt.datetime(2000, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30)))
    key = store(storage, sample, moment=value)
    reopened = make_storage.reopen(storage)
    got = read(reopened, declare_sample(reopened), key, "moment")
    assert got == value and got.utcoffset() == dt.timedelta(0)


def test_list_and_dict_values_are_copies_not_shared(storage: Any, Sample: Any) -> None:  # noqa: N803
    items = [1, [2]]
    key = store(storage, Sample, items=items, doc={"a": items})
    items[1].append(3)
    assert read(storage, Sample, key, "items") == [1, [2]]
    assert read(storage, Sample, key, "doc") == {"a": [1, [2]]}


def test_a_value_read_back_can_be_compared_in_where(storage: Any, Sample: Any) -> None:  # noqa: N803
    for name, value in CASES:
        if COLUMNS[name] in (list, dict):
            continue
        key = store(storage, Sample, **{name: value})
        with Session(storage) as session:
            found = session.execute(
                select(Sample.id).where(getattr(Sample, name) == value).where(Sample.id == key)
            ).scalars().all()
        assert found == [key], (name, value)


# --- hypothesis: insert + select round trip per type ---------------------------------

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
_JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), _INT64, st.floats(allow_nan=False, allow_infinity=False), _TEXT
)
_JSON = st.recursive(
    _JSON_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)
_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
_DECIMALS = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=30).filter(lambda d: any(d)),
    st.integers(-30, 0),
)
_MAX_SPAN = dt.timedelta(microseconds=2**63 - 1)

STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "number": _INT64,
    "real": st.floats(allow_nan=False),
    "text": _TEXT,
    "flag": st.booleans(),
    "blob": st.binary(max_size=64),
    "moment": st.datetimes(),
    "aware": st.datetimes(
        min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=_OFFSETS
    ),
    "day": st.dates(),
    "clock": st.times(),
    "span": st.timedeltas(min_value=-_MAX_SPAN, max_value=_MAX_SPAN),
    "money": _DECIMALS,
    "ident": st.uuids(),
    "items": st.lists(_JSON, max_size=5),
    "doc": st.dictionaries(_TEXT, _JSON, max_size=5),
}


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_random_values_round_trip(storage: Any, Sample: Any, kind: str) -> None:  # noqa: N803
    name = "moment" if kind == "aware" else kind

    @settings(max_examples=30)
    @given(value=STRATEGIES[kind])
    def round_trip(value: Any) -> None:
        expected = value.astimezone(UTC) if kind == "aware" else value
        with Session(storage) as session:
            key = session.execute(insert(Sample).values({name: value})).inserted_primary_key
            assert_same(
                session.execute(select(getattr(Sample, name)).where(Sample.id == key)).scalar(),
                expected,
            )
            session.commit()
        assert_same(read(storage, Sample, key, name), expected)

    round_trip()


# --- loose conversion and strict columns ------------------------------------------------

LOOSE: list[tuple[str, Any, Any]] = [
    ("number", "25", 25),
    ("number", " -7 ", -7),
    ("number", 3.0, 3),
    ("number", Decimal("4"), 4),
    ("real", 3, 3.0),
    ("real", "2.5", 2.5),
    ("real", Decimal("0.25"), 0.25),
    ("text", 5, "5"),
    ("text", Decimal("1.10"), "1.10"),
    ("flag", "yes", True),
    ("flag", "false", False),
    ("flag", 1, True),
    ("flag", 0, False),
    ("blob", "héllo", "héllo".encode()),
    ("blob", bytearray(b"ab"), b"ab"),
    ("moment", "2024-01-02T03:04:05.000006", dt.datetime(2024, 1, 2, 3, 4, 5, 6)),
    ("moment", "2024-01-02 03:04:05+02:00", dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
    ("moment", "2024-01-02T03:04:05Z", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("day", "2024-02-29", dt.date(2024, 2, 29)),
    ("clock", "12:30:45.5", dt.time(12, 30, 45, 500_000)),
    ("span", 90, dt.timedelta(seconds=90)),
    ("span", "01:30:00", dt.timedelta(hours=1, minutes=30)),
    ("money", "1.50", Decimal("1.50")),
    ("money", 7, Decimal(7)),
    ("money", 0.1, Decimal("0.1")),
    ("ident", "12345678-1234-5678-1234-567812345678", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("items", (1, 2), [1, 2]),
    ("items", "[1, \"a\"]", [1, "a"]),
    ("doc", "{\"a\": [1]}", {"a": [1]}),
]
LOOSE_IDS = [f"{name}-{index}" for index, (name, _, _) in enumerate(LOOSE)]


@pytest.mark.parametrize("name, given_value, expected", LOOSE, ids=LOOSE_IDS)
def test_loose_column_converts_the_value(
    storage: Any, Sample: Any, name: str, given_value: Any, expected: Any  # noqa: N803
) -> None:
    key = store(storage, Sample, **{name: given_value})
    assert_same(read(storage, Sample, key, name), expected)


@pytest.mark.parametrize("name, given_value, expected", LOOSE, ids=LOOSE_IDS)
def test_loose_conversion_applies_on_attribute_assignment(
    Sample: Any, name: str, given_value: Any, expected: Any  # noqa: N803
) -> None:
    sample = Sample()
    setattr(sample, name, given_value)
    assert_same(getattr(sample, name), expected)


# Values a strict column refuses: each would convert on a loose column (see LOOSE).
STRICT_REFUSED = [
    (name, given_value)
    for name, given_value, expected in LOOSE
    if not (name == "real" and isinstance(given_value, int))  # int -> float is no conversion
    and not isinstance(given_value, bytearray)  # a byte buffer is bytes
]


@pytest.mark.parametrize(
    "name, given_value", STRICT_REFUSED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(STRICT_REFUSED)]
)
def test_strict_column_refuses_conversion(storage: Any, name: str, given_value: Any) -> None:
    strict_sample = declare_sample(storage, strict=True)
    with pytest.raises(ValidationError, match=rf"Sample\.{name}"):
        strict_sample(**{name: given_value})
    with Session(storage) as session, pytest.raises(ValidationError, match=rf"Sample\.{name}"):
        session.execute(insert(strict_sample).values({name: given_value}))


def test_strict_column_accepts_values_of_its_type(storage: Any) -> None:
    strict_sample = declare_sample(storage, strict=True)
    row = {name: value for name, value in CASES}
    key = store(storage, strict_sample, **row)
    for name, value in row.items():
        assert_same(read(storage, strict_sample, key, name), value)


def test_strict_column_refuses_conversion_through_update(storage: Any) -> None:
    strict_sample = declare_sample(storage, strict=True)
    key = store(storage, strict_sample, number=1)
    with pytest.raises(ValidationError, match=r"Sample\.number"):
        update(strict_sample).where(strict_sample.id == key).values(number="2")


# --- values that do not fit ---------------------------------------------------------------

BAD: list[tuple[str, Any]] = [
    ("number", "abc"),
    ("number", 2.5),
    ("number", 2**63),
    ("number", True),
    ("real", "x1"),
    ("real", float("nan")),
    ("text", b"bytes"),
    ("text", "nul\x00inside"),
    ("flag", "maybe"),
    ("flag", 2),
    ("blob", 12),
    ("moment", "not a date"),
    ("moment", dt.date(2024, 1, 1)),
    ("moment", 1e20),
    ("day", dt.datetime(2024, 1, 1, 12)),
    ("day", "2024-13-01"),
    ("clock", "25:00"),
    ("clock", dt.time(1, 0, tzinfo=UTC)),
    ("span", "soon"),
    ("span", 1e20),
    ("money", "1,5"),
    ("money", Decimal("NaN")),
    ("money", Decimal("Infinity")),
    ("ident", "not-a-uuid"),
    ("items", {"a": 1}),
    ("items", [object()]),
    ("items", [2**64]),
    ("items", "[9223372036854775808]"),
    ("doc", "{\"a\": \"nul\\u0000\"}"),
    ("doc", [1]),
    ("doc", {1: "non-text key"}),
    ("doc", {"set": {1, 2}}),
]
BAD_IDS = [f"{name}-{index}" for index, (name, _) in enumerate(BAD)]


@pytest.mark.parametrize("name, value", BAD, ids=BAD_IDS)
def test_value_that_does_not_fit_raises_validation_error(
    Sample: Any, name: str, value: Any  # noqa: N803
) -> None:
    with pytest.raises(ValidationError) as caught:
        Sample(**{name: value})
    message = str(caught.value)
    assert f"Sample.{name}" in message


@pytest.mark.parametrize("name, value", BAD, ids=BAD_IDS)
def test_value_that_does_not_fit_is_refused_by_insert_and_update(
    storage: Any, Sample: Any, name: str, value: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        with pytest.raises(ValidationError, match=rf"Sample\.{name}"):
            session.execute(insert(Sample).values({name: value}))
        with pytest.raises(ValidationError, match=rf"Sample\.{name}"):
            session.execute(update(Sample).values({name: value}))


@pytest.mark.parametrize(
    "name, value, shown",
    [("number", "abc", "'abc'"), ("flag", "maybe", "'maybe'"), ("day", "2024-13-01", "'2024-13-01'")],
)
def test_validation_error_names_model_column_and_value(
    Sample: Any, name: str, value: Any, shown: str  # noqa: N803
) -> None:
    sample = Sample()
    with pytest.raises(ValidationError) as caught:
        setattr(sample, name, value)
    message = str(caught.value)
    assert "Sample" in message and name in message and shown in message
    assert caught.value.column_name == name


def test_aware_datetime_out_of_range_in_utc_is_a_validation_error(Sample: Any) -> None:  # noqa: N803
    early = dt.datetime(1, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    with pytest.raises(ValidationError, match=r"Sample\.moment"):
        Sample(moment=early)


def test_timedelta_beyond_64_bit_microseconds_is_refused(Sample: Any) -> None:  # noqa: N803
    with pytest.raises(ValidationError, match=r"Sample\.span"):
        Sample(span=dt.timedelta(days=999_999_999))


def test_text_inside_json_may_not_hold_nul(Sample: Any) -> None:  # noqa: N803
    with pytest.raises(ValidationError, match=r"Sample\.doc"):
        Sample(doc={"a": "x\x00y"})
    with pytest.raises(ValidationError, match=r"Sample\.items"):
        Sample(items=["\x00"])


# --- NULL in a non-nullable column --------------------------------------------------------


def test_null_in_non_nullable_column_raises_on_construction(User: Any) -> None:  # noqa: N803
    with pytest.raises(ValidationError, match=r"User\.name"):
        User(name=None)


def test_missing_value_in_non_nullable_column_raises_on_insert(
    storage: Any, User: Any  # noqa: N803
) -> None:
    with Session(storage) as session, pytest.raises(ValidationError, match=r"User\.name"):
        session.execute(insert(User).values(age=3))


def test_null_in_non_nullable_column_raises_on_assignment(User: Any) -> None:  # noqa: N803
    user = User(name="Ann")
    with pytest.raises(ValidationError, match=r"User\.name"):
        user.name = None


def test_null_in_non_nullable_column_raises_on_update(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with pytest.raises(ValidationError, match=r"User\.name"):
        update(User).values(name=None)


def test_missing_non_nullable_value_raises_at_flush(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        user = User()
        session.add(user)
        with pytest.raises(ValidationError, match=r"User\.name"):
            session.flush()
        session.rollback()


def test_aware_datetime_matches_the_same_instant_in_another_offset(
    storage: Any, Sample: Any  # noqa: N803
) -> None:
    stored = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    same_instant = dt.datetime(2024, 7, 1, 5, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    key = store(storage, Sample, moment=stored)
    with Session(storage) as session:
        found = session.execute(select(Sample.id).where(Sample.moment == same_instant)).scalars().all()
        later = session.execute(select(Sample.id).where(Sample.moment > same_instant)).scalars().all()
    assert found == [key]
    assert later == []


def test_conversion_failure_is_a_type_conversion_error(storage: Any, User: Any) -> None:  # noqa: N803
    from pytuck import TypeConversionError, ValidationError

    with pytest.raises(TypeConversionError) as caught:
        User(name="Ann", age="not a number")
    assert isinstance(caught.value, ValidationError)
    assert caught.value.value == "not a number" and caught.value.target_type is int
    assert (caught.value.table_name, caught.value.column_name) == ("users", "age")
    assert "User.age" in str(caught.value)
