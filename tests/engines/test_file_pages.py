"""Paged snapshots of the binary engine (format 3): opening reads the directory only, a
lookup by key decodes one page, anything else loads the table once; damage in a page is
found when the page is read; compaction copies untouched pages; older formats still open.

Counts come from the engine's ``snapshot_reads`` counters, never from timing."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytuck import (
    ConflictError,
    CorruptDatabaseError,
    Session,
    Storage,
    TransactionError,
    delete,
    update,
)
from pytuck.engines import binary
from pytuck.engines.file import FileEngine
from pytuck.schema import ColumnSchema, TableSchema
from tests.engines.file_helpers import (
    add_people,
    binary_pages_start,
    bind_counters,
    bind_users,
    database_path,
    names,
)
from tests.engines.files import version2_rows

#: Rows per page in these tests: small tables with several pages.
_PAGE_ROWS = 10
_NO_COMPACTION: dict[str, Any] = {"compact_min_bytes": 1 << 40}
_FIXTURES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binary, "PAGE_ROWS", _PAGE_ROWS)


def _engine(storage: Storage) -> FileEngine:
    assert isinstance(storage.engine, FileEngine)
    return storage.engine


def _deferred(storage: Storage, table: str = "people") -> bool:
    return _engine(storage).tables[table].deferred is not None


def _people(path: Path, count: int) -> None:
    """A closed binary database of ``count`` people (keys 1..count, age = key % 7)."""
    with Storage(path, engine="binary") as storage:
        model = bind_users(storage)
        add_people(storage, model, *({"name": f"p{i}", "age": i % 7} for i in range(1, count + 1)))


@pytest.fixture
def people(tmp_path: Path) -> Path:
    """A closed binary database of 45 people: 5 pages of up to 10 rows."""
    path = database_path(tmp_path, "binary")
    _people(path, 45)
    return path


def _page_offsets(storage: Storage, table: str = "people") -> list[int]:
    deferred = _engine(storage).tables[table].deferred
    assert deferred is not None
    return [page.offset for page in deferred.table.pages]  # type: ignore[attr-defined]


# --- opening and lookups ------------------------------------------------------------


def test_open_reads_the_directory_and_no_page(people: Path) -> None:
    with Storage(people, engine="binary", read_only=True) as storage:
        bind_users(storage)
        assert storage.table_names() == ["people"]
        assert _deferred(storage)
        assert len(_page_offsets(storage)) == 5
        assert _engine(storage).snapshot_reads.pages == 0


def test_lookup_by_key_decodes_only_the_page_that_can_hold_it(people: Path) -> None:
    with Storage(people, engine="binary", read_only=True) as storage:
        model = bind_users(storage)
        reads = _engine(storage).snapshot_reads
        with Session(storage) as session:
            assert session.get(model, 25).name == "p25"
            assert reads.pages == 1
            assert session.get(model, 28).name == "p28"  # same page: decoded once
            assert reads.pages == 1
            assert session.get(model, 41).name == "p41"
            assert reads.pages == 2
            assert session.get(model, 0) is None and session.get(model, 46) is None  # outside every page
            assert reads.pages == 2
        assert _deferred(storage) and reads.tables == 0


def test_query_loads_the_table_once_reusing_decoded_pages(people: Path) -> None:
    with Storage(people, engine="binary", read_only=True) as storage:
        model = bind_users(storage)
        reads = _engine(storage).snapshot_reads
        with Session(storage) as session:
            session.get(model, 3)
            assert session.query(model).count() == 45
            assert session.query(model).filter(model.age == 6).count() == 6  # sorted index built
        assert not _deferred(storage)
        assert (reads.pages, reads.tables) == (5, 1)


def test_write_loads_the_table_and_commits(people: Path) -> None:
    with Storage(people, engine="binary") as storage:
        model = bind_users(storage)
        with Session(storage) as session:
            session.get(model, 7).name = "seven"
            session.commit()
        assert not _deferred(storage)
    with Storage(people, engine="binary") as storage:
        model = bind_users(storage)
        with Session(storage) as session:
            assert session.get(model, 7).name == "seven"
            assert session.query(model).count() == 45


def test_unhashable_or_foreign_key_matches_nothing(people: Path) -> None:
    with Storage(people, engine="binary", read_only=True) as storage:
        table = bind_users(storage).__table__
        transaction = storage.engine.begin()
        assert transaction.get(table, [1]) is None
        assert transaction.get(table, "12") is None  # does not compare with int keys: a full read
        assert transaction.get(table, 12.0) is not None  # equal to the key 12, as in a dict
        transaction.rollback()


# --- the journal on top of the pages ---------------------------------------------------------


def test_journal_changes_win_over_the_pages_without_loading(people: Path) -> None:
    with Storage(people, engine="binary", **_NO_COMPACTION) as storage:
        model = bind_users(storage)
        with Session(storage) as session:
            session.execute(update(model).where(model.id == 12).values(name="twelve"))
            session.execute(delete(model).where(model.id == 13))
            session.add(model(name="new"))
            session.commit()
        copy = people.read_bytes()
    people.write_bytes(copy)  # snapshot + journal, as a crash would leave it
    with Storage(people, engine="binary", read_only=True) as storage:
        model = bind_users(storage)
        reads = _engine(storage).snapshot_reads
        with Session(storage) as session:
            assert session.get(model, 12).name == "twelve"
            assert session.get(model, 13) is None
            assert session.get(model, 46).name == "new"
            assert session.get(model, 14).name == "p14"
            assert _deferred(storage) and reads.pages == 1
            assert session.query(model).count() == 45
            assert session.query(model).filter(model.name == "twelve").count() == 1
        assert reads.tables == 1


def test_commits_of_another_storage_are_seen_by_a_deferred_table(people: Path) -> None:
    with Storage(people, engine="binary", read_only=True) as reader:
        model = bind_users(reader)
        with Session(reader) as session:
            assert session.get(model, 5).name == "p5"
        with Storage(people, engine="binary") as writer:
            writer_model = bind_users(writer)
            with Session(writer) as session:
                session.get(writer_model, 5).name = "five"
                session.commit()
            with Session(reader) as session:
                assert session.get(model, 5).name == "five"
            assert _deferred(reader)
        # The writer compacted at close; the reader still reads the pages it had.
        with Session(reader) as session:
            assert session.get(model, 44).name == "p44"
            assert session.query(model).filter(model.name == "five").count() == 1


def test_stale_write_after_a_reload_of_a_deferred_table_raises_conflict_error(tmp_path: Path) -> None:
    path = database_path(tmp_path, "binary")
    with Storage(path, engine="binary") as storage:
        counter = bind_counters(storage)
        with Session(storage) as session:
            session.add_all(counter(id=i, value=0) for i in range(1, 31))
            session.commit()
    with Storage(path, engine="binary") as first, Storage(path, engine="binary") as second:
        counter_first, counter_second = bind_counters(first), bind_counters(second)
        stale = Session(first)
        mine = stale.get(counter_first, 1)  # read from the deferred table's page
        for _ in range(2):  # two compactions: the first storage must reload the file
            with Session(second) as session:
                session.get(counter_second, 1).value += 1
                session.commit()
            second.engine.compact()  # type: ignore[attr-defined]
        assert first.table_names() == ["counters"]  # catches up: reloads
        assert _deferred(first, "counters")
        mine.value += 1
        with pytest.raises(ConflictError):
            stale.commit()
        stale.rollback()
        stale.get(counter_first, 1).value += 1
        stale.commit()
        stale.close()
        with Session(second) as session:
            assert session.get(counter_second, 1).value == 3


# --- threads ------------------------------------------------------------------------------------


def test_sessions_in_several_threads_load_the_table_once(tmp_path: Path) -> None:
    path = database_path(tmp_path, "binary")
    _people(path, 300)
    with Storage(path, engine="binary") as storage:
        model = bind_users(storage)
        reads = _engine(storage).snapshot_reads
        start = threading.Barrier(6)
        failures: list[BaseException] = []

        def work(seed: int) -> None:
            rng = random.Random(seed)
            try:
                start.wait()
                for _ in range(20):
                    with Session(storage) as session:
                        key = rng.randrange(1, 301)
                        assert session.get(model, key).name == f"p{key}"
                        if rng.random() < 0.3:
                            assert session.query(model).filter(model.age == 3).count() == 43
                        if rng.random() < 0.1:
                            assert session.query(model).count() == 300
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures, failures
        assert reads.tables == 1 and reads.pages == 30  # each page decoded once
        assert not _deferred(storage)


# --- damage found in a page -----------------------------------------------------------------------


def _damage_page(path: Path, page: int) -> bytes:
    """Flip one bit in the middle of page number ``page`` (0-based) of the closed database; the new bytes."""
    with Storage(path, engine="binary", read_only=True) as storage:
        offsets = _page_offsets(storage)
    data = bytearray(path.read_bytes())
    ends = [*offsets[1:], len(data)]
    data[(offsets[page] + ends[page]) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    return bytes(data)


def test_damaged_page_is_reported_when_a_lookup_reads_it(people: Path) -> None:
    with Storage(people, engine="binary", read_only=True) as storage:
        offsets = _page_offsets(storage)
    damaged = _damage_page(people, 2)
    with Storage(people, engine="binary") as storage:  # the directory is intact: it opens
        model = bind_users(storage)
        with Session(storage) as session:
            assert session.get(model, 5).name == "p5"
            with pytest.raises(CorruptDatabaseError, match="checksum") as caught:
                session.get(model, 25)
        assert caught.value.details == {"path": str(people), "offset": offsets[2]}
        assert str(people) in str(caught.value) and f"at byte {offsets[2]}" in str(caught.value)
        with pytest.raises(CorruptDatabaseError):  # asked again: still damaged
            storage.engine.begin().get(model.__table__, 25)
    assert people.read_bytes() == damaged


def test_damaged_page_is_reported_when_the_table_loads_and_it_stays_deferred(people: Path) -> None:
    damaged = _damage_page(people, 4)
    with Storage(people, engine="binary") as storage:
        model = bind_users(storage)
        for _ in range(2):
            with Session(storage) as session, pytest.raises(CorruptDatabaseError, match="page 5 of 5"):
                session.query(model).count()
            assert _deferred(storage)
        with pytest.raises(CorruptDatabaseError), Session(storage) as session:
            session.add(model(name="never written"))  # committed on leaving the session
    assert people.read_bytes() == damaged


def test_compaction_refuses_to_copy_a_damaged_page(people: Path) -> None:
    damaged = _damage_page(people, 1)
    schema = TableSchema("other", (ColumnSchema("id", int, primary_key=True, nullable=False),))
    with Storage(people, engine="binary", **_NO_COMPACTION) as storage:
        storage.engine.ensure_table(schema)  # a commit to another table: a journal to compact
        with pytest.raises(CorruptDatabaseError, match="checksum"):
            storage.engine.compact()  # type: ignore[attr-defined]
        assert people.read_bytes().startswith(damaged)
        with pytest.warns(RuntimeWarning, match="compaction failed"):
            storage.close()
    assert people.read_bytes().startswith(damaged) and len(people.read_bytes()) > len(damaged)


def test_page_of_a_closed_storage_is_not_read(people: Path) -> None:
    storage = Storage(people, engine="binary")
    table = bind_users(storage).__table__
    transaction = storage.engine.begin()
    storage.close()
    with pytest.raises(TransactionError, match="closed"):
        transaction.get(table, 1)


# --- compaction --------------------------------------------------------------------------------------


def test_compaction_copies_untouched_tables_without_decoding_them(people: Path) -> None:
    before = people.read_bytes()
    pages = before[binary_pages_start(before):]
    with Storage(people, engine="binary") as storage:
        model = bind_users(storage)
        counter = bind_counters(storage)
        with Session(storage) as session:
            session.add(counter(id=1, value=1))
            session.commit()
        storage.engine.compact()  # type: ignore[attr-defined]
        reads = _engine(storage).snapshot_reads
        assert _deferred(storage) and (reads.pages, reads.tables) == (0, 0)
        assert pages in people.read_bytes()  # the people pages, byte for byte
        with Session(storage) as session:  # read from the new file now
            assert session.get(model, 33).name == "p33"
            assert session.query(model).count() == 45
    with Storage(people, engine="binary") as storage:
        assert len(names(storage, bind_users(storage))) == 45


def test_compaction_loads_a_table_changed_by_a_replayed_commit(people: Path) -> None:
    with Storage(people, engine="binary", **_NO_COMPACTION) as storage:
        add_people(storage, bind_users(storage), {"name": "journaled"})
        copy = people.read_bytes()
    people.write_bytes(copy)
    with Storage(people, engine="binary") as storage:
        model = bind_users(storage)
        storage.engine.compact()  # type: ignore[attr-defined]
        assert not _deferred(storage)
        assert "journaled" in names(storage, model)
    with Storage(people, engine="binary") as storage:
        assert len(names(storage, bind_users(storage))) == 46


# --- layout -----------------------------------------------------------------------------------------


def test_pages_hold_ascending_key_ranges(tmp_path: Path) -> None:
    path = database_path(tmp_path, "binary")
    keys = random.Random(5).sample(range(-1000, 1000), 95)
    with Storage(path, engine="binary") as storage:
        model = bind_users(storage)
        add_people(storage, model, *({"id": key, "name": str(key)} for key in keys))
    with Storage(path, engine="binary", read_only=True) as storage:
        deferred = _engine(storage).tables["people"].deferred
        pages = deferred.table.pages  # type: ignore[union-attr]
        assert [page.count for page in pages] == [10] * 9 + [5]
        assert [(page.first, page.last) for page in pages] == [
            (chunk[0], chunk[-1]) for chunk in (sorted(keys)[i:i + 10] for i in range(0, 95, 10))
        ]
        transaction = storage.engine.begin()
        for key in keys:
            assert transaction.get(model_table(storage), key)[1] == str(key)
        transaction.rollback()


def model_table(storage: Storage) -> TableSchema:
    """The stored schema of the people table."""
    schema = storage.engine.table_schema("people")
    assert schema is not None
    return schema


def test_large_rows_make_smaller_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binary, "PAGE_BYTES", 2000)
    path = database_path(tmp_path, "binary")
    with Storage(path, engine="binary") as storage:
        add_people(storage, bind_users(storage), *({"name": f"{i:04}" + "x" * 500} for i in range(10)))
    with Storage(path, engine="binary", read_only=True) as storage:
        model = bind_users(storage)
        assert len(_page_offsets(storage)) > 1
        with Session(storage) as session:
            assert session.get(model, 7).name.startswith("0006")
        assert _engine(storage).snapshot_reads.pages == 1


def test_keys_that_cannot_be_ordered_still_round_trip(tmp_path: Path) -> None:
    keys = [dt.datetime(2020, 1, i + 1) for i in range(12)]
    keys += [dt.datetime(2021, 1, i + 1, tzinfo=dt.timezone.utc) for i in range(12)]
    table = TableSchema("moments", (ColumnSchema("k", dt.datetime, primary_key=True, nullable=False),))
    path = database_path(tmp_path, "binary")
    with Storage(path, engine="binary") as storage:
        storage.engine.ensure_table(table)
        transaction = storage.engine.begin()
        transaction.insert(table, [{"k": key} for key in keys])
        transaction.commit()
    with Storage(path, engine="binary", read_only=True) as storage:
        deferred = _engine(storage).tables["moments"].deferred
        assert deferred is not None and not deferred.table.ordered  # type: ignore[attr-defined]
        transaction = storage.engine.begin()
        assert all(transaction.get(table, key) == (key,) for key in keys)
        assert transaction.get(table, dt.datetime(2022, 1, 1)) is None
        transaction.rollback()


# --- every type, through pages -----------------------------------------------------------------------

_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "c_int": st.integers(-(2**63), 2**63 - 1),
    "c_float": st.floats(allow_nan=False),
    "c_str": st.text(max_size=10),
    "c_bool": st.booleans(),
    "c_bytes": st.binary(max_size=10),
    "c_naive": st.datetimes(),
    "c_aware": st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.timezone.utc)
    ),
    "c_date": st.dates(),
    "c_time": st.times(),
    "c_timedelta": st.timedeltas(),
    "c_decimal": st.decimals(allow_nan=False, allow_infinity=False),
    "c_uuid": st.uuids(),
    "c_list": st.lists(st.integers(-(2**63), 2**63 - 1) | st.text(max_size=3) | st.none(), max_size=3),
    "c_dict": st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1) | st.booleans(), max_size=3),
}
_TYPES = version2_rows.COLUMNS
_TABLE = TableSchema(
    "values",
    (ColumnSchema("id", int, primary_key=True, nullable=False),)
    + tuple(ColumnSchema(name, tp) for name, tp in _TYPES.items()),
)
_KEY_TYPES: dict[type, st.SearchStrategy[Any]] = {
    int: st.integers(-(2**63), 2**63 - 1), float: st.floats(allow_nan=False), str: st.text(max_size=6),
    bytes: st.binary(max_size=6), dt.datetime: st.datetimes(), dt.date: st.dates(), dt.time: st.times(),
    dt.timedelta: st.timedeltas(), Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    uuid.UUID: st.uuids(),
}


def _same(expected: Any, actual: Any) -> bool:
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, (float, Decimal)):
        return repr(expected) == repr(actual)
    if isinstance(expected, dt.datetime):
        return expected == actual and expected.tzinfo == actual.tzinfo
    return bool(expected == actual)


def _write_and_reopen(
    tmp_path: Path, table: TableSchema, rows: list[dict[str, Any]]
) -> tuple[Storage, list[Any]]:
    path = tmp_path / f"types{uuid.uuid4().hex}.pytuck"
    with Storage(path, engine="binary") as storage:
        storage.engine.ensure_table(table)
        transaction = storage.engine.begin()
        keys = transaction.insert(table, rows)
        transaction.commit()
    return Storage(path, engine="binary", read_only=True), keys


@settings(max_examples=25)
@given(rows=st.lists(st.fixed_dictionaries({n: st.none() | s for n, s in _VALUES.items()}), min_size=1, max_size=35))
def test_every_type_round_trips_through_pages(tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    storage, keys = _write_and_reopen(tmp_path, _TABLE, rows)
    with storage:
        transaction = storage.engine.begin()
        for key, row in zip(keys, rows):  # each by key, page by page
            stored = transaction.get(_TABLE, key)
            assert stored is not None
            for name, value in zip(_TABLE.column_names[1:], stored[1:]):
                assert _same(row[name], value), (name, row[name], value)
        assert _deferred(storage, "values")
        transaction.rollback()


@settings(max_examples=10)
@given(key_type=st.sampled_from(list(_KEY_TYPES)), data=st.data())
def test_keys_of_every_type_are_found_in_their_page(tmp_path: Path, key_type: type, data: Any) -> None:
    keys = data.draw(st.lists(_KEY_TYPES[key_type], min_size=1, max_size=40, unique=True))
    table = TableSchema("keyed", (ColumnSchema("k", key_type, primary_key=True, nullable=False),))
    storage, _ = _write_and_reopen(tmp_path, table, [{"k": key} for key in keys])
    with storage:
        transaction = storage.engine.begin()
        for key in keys:
            found = transaction.get(table, key)
            assert found is not None and _same(key, found[0])
        assert _engine(storage).snapshot_reads.tables == 0
        transaction.rollback()


# --- older formats and the json engine ---------------------------------------------------------


def test_version_2_file_written_by_the_previous_pytuck_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.pytuck"
    shutil.copyfile(_FIXTURES / "version2.pytuck", path)
    original = path.read_bytes()
    assert original[8:10] == b"\x00\x02"
    expected = version2_rows.expected_rows()
    with Storage(path, engine="binary", read_only=True) as storage:
        transaction = storage.engine.begin()
        assert transaction.get(_TABLE, 3) is None
        for key, row in expected.items():
            stored = transaction.get(_TABLE, key)
            assert stored is not None
            for name, value in zip(_TABLE.column_names, stored):
                assert _same(row[name], value), (key, name, row[name], value)
        transaction.rollback()
    assert path.read_bytes() == original
    with Storage(path, engine="binary") as storage:  # the first write rewrites it in format 3
        transaction = storage.engine.begin()
        transaction.update_rows(_TABLE, [(1, {"c_str": "now format 3"})])
        transaction.commit()
    assert path.read_bytes()[8:10] == b"\x00\x03"
    with Storage(path, engine="binary", read_only=True) as storage:
        transaction = storage.engine.begin()
        assert transaction.get(_TABLE, 1)[_TABLE.column_names.index("c_str")] == "now format 3"
        assert transaction.get(_TABLE, 4)[_TABLE.column_names.index("c_str")] == "inserted"
        transaction.rollback()


def test_json_engine_reads_its_snapshot_whole(tmp_path: Path) -> None:
    path = database_path(tmp_path, "json")
    with Storage(path, engine="json") as storage:
        add_people(storage, bind_users(storage), {"name": "Ann"})
    with Storage(path, engine="json") as storage:
        bind_users(storage)
        assert not _deferred(storage)
