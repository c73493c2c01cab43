"""Every contract type survives a close and reopen of a file engine, as the same type."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytuck import Storage
from pytuck.engines import binary
from pytuck.schema import ColumnSchema, TableSchema
from pytuck.types import INT64_MAX, INT64_MIN, normalize_datetime
from tests.engines.file_helpers import FILE_ENGINES

#: Runs a test once per file engine.
every_engine = pytest.mark.parametrize("engine", list(FILE_ENGINES))

_ZONES = [
    dt.timezone.utc,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(-dt.timedelta(hours=11)),
]
#: Keys that look like the tags of the JSON format, so documents using them get tested.
_TAG_LIKE = ["$dt", "$date", "$time", "$td", "$dec", "$uuid", "$bytes", "$float", "$dict"]

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(INT64_MIN, INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_documents = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(_TAG_LIKE) | st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)

#: Column type -> values of that type, as the type layer hands them to engines.
_VALUES: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(INT64_MIN, INT64_MAX),
    float: st.floats(allow_nan=False),
    str: st.text(),
    bool: st.booleans(),
    bytes: st.binary(),
    dt.datetime: st.datetimes()
    | st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.sampled_from(_ZONES)
    ).map(normalize_datetime),
    dt.date: st.dates(),
    dt.time: st.times(),
    dt.timedelta: st.timedeltas(),
    Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    uuid.UUID: st.uuids(),
    list: st.lists(_documents, max_size=4),
    dict: st.dictionaries(st.sampled_from(_TAG_LIKE) | st.text(max_size=5), _documents, max_size=4),
}

_TABLE = TableSchema(
    "values",
    (ColumnSchema("id", int, primary_key=True, nullable=False),)
    + tuple(ColumnSchema(f"c_{tp.__name__.lower()}", tp) for tp in _VALUES),
)
_COLUMN_TYPES = {f"c_{tp.__name__.lower()}": tp for tp in _VALUES}

_rows = st.fixed_dictionaries({name: st.none() | _VALUES[tp] for name, tp in _COLUMN_TYPES.items()})
_numbers = itertools.count()


def _same(expected: Any, actual: Any) -> bool:
    """Equal, of the same type, and indistinguishable where ``==`` is lenient."""
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, float):
        return repr(expected) == repr(actual)  # -0.0 and 0.0 are ==, but not the same
    if isinstance(expected, Decimal):
        return str(expected) == str(actual)  # Decimal("1.50") == Decimal("1.5")
    if isinstance(expected, dt.datetime):
        return expected == actual and expected.tzinfo == actual.tzinfo
    if isinstance(expected, (list, dict)):
        return orjson.dumps(expected) == orjson.dumps(actual)  # keeps bool vs int, float vs int
    return bool(expected == actual)


def _round_trip(engine: str, folder: Path, table: TableSchema, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    path = folder / f"roundtrip{next(_numbers)}{FILE_ENGINES[engine]}"
    with Storage(path, engine=engine) as storage:
        storage.engine.ensure_table(table)
        transaction = storage.engine.begin()
        keys = transaction.insert(table, rows)
        transaction.commit()
    with Storage(path, engine=engine) as storage:
        transaction = storage.engine.begin()
        found = [transaction.get(table, key) for key in keys]
        transaction.rollback()
    path.unlink()
    return [row for row in found if row is not None]


@every_engine
@given(row=_rows)
def test_every_type_round_trips_through_reopen(engine: str, tmp_path: Path, row: dict[str, Any]) -> None:
    [stored] = _round_trip(engine, tmp_path, _TABLE, [row])
    for name, value in zip(_TABLE.column_names[1:], stored[1:]):
        assert _same(row[name], value), (name, row[name], value)


@every_engine
def test_aware_datetime_comes_back_as_the_same_instant_in_utc(engine: str, tmp_path: Path) -> None:
    moment = dt.datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    [stored] = _round_trip(engine, tmp_path, _TABLE, [{"c_datetime": moment}])
    value = stored[_TABLE.column_names.index("c_datetime")]
    assert value == moment and value.utcoffset() == dt.timedelta(0)


@every_engine
@pytest.mark.parametrize("key", [tp for tp in _VALUES if tp not in (list, dict)], ids=lambda tp: tp.__name__)
def test_non_integer_primary_keys_survive_reopen(engine: str, tmp_path: Path, key: type) -> None:
    samples = {
        int: [5, -3], float: [1.5, -0.25], str: ["b", "a"], bool: [True, False], bytes: [b"\x00", b"z"],
        dt.datetime: [dt.datetime(2020, 1, 1), dt.datetime(1999, 5, 6, 7, 8, 9)],
        dt.date: [dt.date(2020, 1, 1), dt.date(1, 1, 1)], dt.time: [dt.time(1, 2), dt.time(23, 59, 59, 1)],
        dt.timedelta: [dt.timedelta(days=-1), dt.timedelta(seconds=5)],
        Decimal: [Decimal("1.10"), Decimal("-7")], uuid.UUID: [uuid.UUID(int=1), uuid.UUID(int=2**100)],
    }[key]
    table = TableSchema(
        "keyed", (ColumnSchema("k", key, primary_key=True, nullable=False), ColumnSchema("v", str))
    )
    stored = _round_trip(engine, tmp_path, table, [{"k": k, "v": str(i)} for i, k in enumerate(samples)])
    assert [row[0] for row in stored] == samples
    assert all(type(row[0]) is key for row in stored)


@every_engine
def test_document_that_looks_like_a_tag_stays_a_document(engine: str, tmp_path: Path) -> None:
    documents = [{"$dt": "2020-01-01T00:00:00"}, {"$dict": {"$uuid": "x"}}, {"$bytes": "AAE="}]
    rows = [{"c_dict": document} for document in documents]
    stored = _round_trip(engine, tmp_path, _TABLE, rows)
    position = _TABLE.column_names.index("c_dict")
    assert [row[position] for row in stored] == documents


@every_engine
def test_dict_that_looks_like_a_tag_in_another_column_survives(engine: str, tmp_path: Path) -> None:
    # The type layer never puts a dict into a str column, but an engine must
    # not read back anything other than what it was given.
    values = [{"$dt": "2020-01-01T00:00:00"}, {"$dict": 1}, {"plain": 1}]
    stored = _round_trip(engine, tmp_path, _TABLE, [{"c_str": value} for value in values])
    position = _TABLE.column_names.index("c_str")
    assert [row[position] for row in stored] == values


def test_binary_format_does_not_depend_on_how_memory_keeps_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = "binary"
    document = {"list": [1, 2.5, None, "x", {"deep": True}]}
    path = tmp_path / f"documents{FILE_ENGINES[engine]}"
    with Storage(path, engine=engine) as storage:
        storage.engine.ensure_table(_TABLE)
        transaction = storage.engine.begin()
        transaction.insert(_TABLE, [{"c_dict": document}])
        transaction.commit()
    copied = path.read_bytes()
    monkeypatch.setattr(binary, "_COPY_DOCUMENTS", False)
    with Storage(path, engine=engine) as storage:
        assert storage.engine.begin().get(_TABLE, 1)[_TABLE.column_names.index("c_dict")] == document
        storage.engine.compact()  # writes the snapshot again, converting every document
    assert path.read_bytes() == copied
