"""The journal of the file engines: appends, torn and damaged entries, compaction,
format upgrade, and several storages of one file in one process (the logic that
serves several processes, tested here without their start-up cost)."""

from __future__ import annotations

import datetime as dt
import random
import struct
import uuid
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from pytuck import (
    ConflictError,
    CorruptDatabaseError,
    Session,
    Storage,
    update,
)
from pytuck.engines import binary
from pytuck.engines.file import FileEngine
from pytuck.schema import ColumnSchema, TableSchema
from tests.engines.file_helpers import (
    FILE_ENGINES,
    SNAPSHOT_FORMATS,
    add_people,
    bind_counters,
    bind_users,
    database_path,
    legacy_binary,
    make_database,
    names,
    snapshot_end,
)

pytestmark = pytest.mark.parametrize("engine", list(FILE_ENGINES))

#: Compaction settings that never compact before close().
_NO_COMPACTION: dict[str, Any] = {"compact_min_bytes": 1 << 40}


def _engine(storage: Storage) -> FileEngine:
    assert isinstance(storage.engine, FileEngine)
    return storage.engine


def _journaled(path: Path, engine: str, commits: int) -> tuple[bytes, list[int]]:
    """A database of ``commits`` one-row commits left as snapshot + journal, and where each entry ends.

    The bytes are copied while the storage is open (close() would compact them).
    """
    make_database(path, engine, "base")
    ends = []
    with Storage(path, engine=engine, **_NO_COMPACTION) as storage:
        model = bind_users(storage)
        for number in range(commits):
            add_people(storage, model, {"name": f"row {number}", "age": number})
            ends.append(path.stat().st_size)
        data = path.read_bytes()
    return data, ends


def _open_names(path: Path, engine: str, **options: Any) -> list[str]:
    with Storage(path, engine=engine, **options) as storage:
        return names(storage, bind_users(storage))


# --- appending ----------------------------------------------------------------------


def test_commit_appends_to_the_journal_and_leaves_the_snapshot_alone(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        add_people(storage, model, *({"name": f"p{i}", "email": f"{i}@x.io"} for i in range(300)))
        storage.engine.compact()  # type: ignore[attr-defined]
        before = path.read_bytes()
        inode = path.stat().st_ino
        add_people(storage, model, {"name": "one more"})
        after = path.read_bytes()
    assert path.stat().st_ino != inode  # close() compacted
    assert after.startswith(before)
    assert 0 < len(after) - len(before) < 300  # the entry holds the one row, not the table


def test_commit_cost_does_not_grow_with_the_database(engine: str, tmp_path: Path) -> None:
    # Bytes written per one-row commit, a proxy for its cost that a timer cannot make flaky.
    grown = {}
    for size in (10, 2000):
        path = database_path(tmp_path, engine, stem=f"size{size}")
        with Storage(path, engine=engine, **_NO_COMPACTION) as storage:
            model = bind_users(storage)
            add_people(storage, model, *({"name": f"p{i}"} for i in range(size)))
            before = path.stat().st_size
            add_people(storage, model, {"name": "x"})
            grown[size] = path.stat().st_size - before
    assert abs(grown[2000] - grown[10]) <= 8  # only the digits of the keys differ


def test_reopen_replays_the_journal(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    data, _ = _journaled(path, engine, 5)
    path.write_bytes(data)
    assert _open_names(path, engine) == ["base", *(f"row {n}" for n in range(5))]


def test_deletes_updates_and_keys_replay(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann", "Bob", "Cy")
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        with Session(storage) as session:
            session.delete(session.get(model, 3))
            session.execute(update(model).where(model.id == 1).values(name="Anna", age=40))
            session.commit()
        copy = path.read_bytes()
    path.write_bytes(copy)
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        assert names(storage, model) == ["Anna", "Bob"]
        with Session(storage) as session:
            assert session.query(model).filter(model.age >= 40).count() == 1
            person = model(name="Dee")
            session.add(person)
            session.commit()
            assert person.id == 4  # key 3 stays used


_KEYS: dict[type, list[Any]] = {
    int: [5, -3], float: [1.5, float("-inf")], str: ["b", ""], bool: [True, False],
    bytes: [b"\x00", b"z"], dt.datetime: [dt.datetime(2020, 1, 1), dt.datetime(1999, 5, 6, 7, 8, 9)],
    dt.date: [dt.date(2020, 1, 1), dt.date(1, 1, 1)], dt.time: [dt.time(1, 2), dt.time(23, 59)],
    dt.timedelta: [dt.timedelta(days=-1), dt.timedelta(seconds=5)],
    Decimal: [Decimal("1.10"), Decimal("-7")], uuid.UUID: [uuid.UUID(int=1), uuid.UUID(int=2**100)],
}


@pytest.mark.parametrize("key", list(_KEYS), ids=lambda tp: tp.__name__)
def test_rows_written_and_deleted_by_key_of_every_type_replay(engine: str, tmp_path: Path, key: type) -> None:
    table = TableSchema("keyed", (ColumnSchema("k", key, primary_key=True, nullable=False), ColumnSchema("v", str)))
    kept, deleted = _KEYS[key]
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine, **_NO_COMPACTION) as storage:
        storage.engine.ensure_table(table)
        transaction = storage.engine.begin()
        transaction.insert(table, [{"k": kept, "v": "kept"}, {"k": deleted, "v": "deleted"}])
        transaction.commit()
        transaction = storage.engine.begin()
        assert transaction.delete_rows(table, [deleted]) == 1
        transaction.commit()
        copy = path.read_bytes()
    path.write_bytes(copy)
    with Storage(path, engine=engine, read_only=True) as storage:
        transaction = storage.engine.begin()
        assert transaction.get(table, deleted) is None
        row = transaction.get(table, kept)
        assert row is not None and type(row[0]) is key and row[0] == kept and row[1] == "kept"
        transaction.rollback()


def test_auto_flush_off_appends_every_buffered_commit_at_flush(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    before = path.read_bytes()
    with Storage(path, engine=engine, auto_flush=False) as storage:
        model = bind_users(storage)
        for name in ("Bob", "Cy"):
            add_people(storage, model, {"name": name})
        assert path.read_bytes() == before
        storage.flush()
        flushed = path.read_bytes()
    assert flushed.startswith(before) and len(flushed) > len(before)
    path.write_bytes(flushed)
    assert _open_names(path, engine) == ["Ann", "Bob", "Cy"]


# --- torn and damaged entries ---------------------------------------------------------


def test_journal_cut_anywhere_opens_with_the_commits_before_the_cut(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    data, ends = _journaled(path, engine, 4)
    first = _journal_start(data, engine)
    rng = random.Random(17)
    cuts = sorted({first, *ends, *rng.sample(range(first, len(data)), 40), len(data) - 1})
    for cut in cuts:
        damaged = data[:cut]
        path.write_bytes(damaged)
        complete = sum(1 for end in ends if end <= cut)
        assert _open_names(path, engine, read_only=True) == ["base", *(f"row {n}" for n in range(complete))]
        assert path.read_bytes() == damaged  # opening never writes


def test_torn_entry_is_cut_off_by_the_next_commit(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    data, ends = _journaled(path, engine, 3)
    path.write_bytes(data[: ends[-1] - 5])  # the last entry lost its end
    with Storage(path, engine=engine, **_NO_COMPACTION) as storage:
        model = bind_users(storage)
        add_people(storage, model, {"name": "after the crash"})
        written = path.read_bytes()
    assert len(written) > ends[-2]
    path.write_bytes(written)
    assert _open_names(path, engine) == ["after the crash", "base", "row 0", "row 1"]


def test_zero_filled_tail_counts_as_torn(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    data, _ = _journaled(path, engine, 2)
    path.write_bytes(data + bytes(300))
    assert _open_names(path, engine, read_only=True) == ["base", "row 0", "row 1"]


def test_bit_flips_in_the_journal_raise_corrupt_database_error(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    data, ends = _journaled(path, engine, 4)
    start = _journal_start(data, engine)
    rng = random.Random(23)
    entry_starts = [start, *ends[:-1]]
    positions = sorted(
        {p for s in entry_starts for p in range(s, s + 30)}
        | set(rng.sample(range(start, len(data)), 60))
        | {len(data) - 1, len(data) - 2}
    )
    for position in positions:
        damaged = bytearray(data)
        damaged[position] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        with pytest.raises(CorruptDatabaseError) as caught:
            Storage(path, engine=engine)
        assert str(path) in str(caught.value)
        entry = max(s for s in entry_starts if s <= position)
        assert entry <= caught.value.details["offset"] < len(data)
        assert path.read_bytes() == bytes(damaged)


def test_missing_entry_raises_corrupt_database_error(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    data, ends = _journaled(path, engine, 3)
    without_second = data[: ends[0]] + data[ends[1]:]
    path.write_bytes(without_second)
    with pytest.raises(CorruptDatabaseError, match="missing or out of order") as caught:
        Storage(path, engine=engine)
    assert caught.value.details["offset"] == ends[0]
    assert path.read_bytes() == without_second


def test_damage_appended_by_another_writer_is_reported_at_the_next_transaction(
    engine: str, tmp_path: Path
) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        size = path.stat().st_size
        with open(path, "ab") as handle:
            handle.write(b"\x01" * 64 + b"\n")
        with pytest.raises(CorruptDatabaseError) as caught:
            names(storage, model)
        assert caught.value.details["offset"] == size
        with open(path, "r+b") as handle:
            handle.truncate(size)
        assert names(storage, model) == ["Ann"]


# --- compaction -------------------------------------------------------------------------


def test_journal_past_its_threshold_is_compacted(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine, compact_min_bytes=1000, compact_ratio=0.5) as storage:
        model = bind_users(storage)
        compactions = 0
        for number in range(60):
            add_people(storage, model, {"name": f"row {number}"})
            journal = path.stat().st_size - snapshot_end(path, engine)
            assert journal <= max(1000, snapshot_end(path, engine) / 2)
            compactions += journal == 0
        assert compactions >= 2
        assert len(names(storage, model)) == 60
    assert _open_names(path, engine) == sorted(f"row {n}" for n in range(60))


def test_close_leaves_a_compacted_file(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    _journaled(path, engine, 3)
    assert snapshot_end(path, engine) == path.stat().st_size
    if engine == "json":
        assert len(orjson.loads(path.read_bytes())["database"]["tables"][0]["rows"]) == 4


def test_failed_compaction_keeps_the_commit_and_warns(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine, compact_min_bytes=0, compact_ratio=0) as storage:
        model = bind_users(storage)

        def full_disk(path: str, data: bytes) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("pytuck.engines.file.write_atomically", full_disk)
        with pytest.warns(RuntimeWarning, match="compaction failed"):
            add_people(storage, model, {"name": "kept"})
        monkeypatch.undo()
        copy = path.read_bytes()
    path.write_bytes(copy)
    assert _open_names(path, engine) == ["kept"]


def test_reader_follows_a_compaction_without_decoding_the_new_snapshot(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine, read_only=True) as reader:
        model = bind_users(reader)
        decoded = []
        original = _engine(reader)._read_snapshot
        monkeypatch.setattr(
            _engine(reader), "_read_snapshot", lambda *a: decoded.append(1) or original(*a)
        )
        with Storage(path, engine=engine) as writer:
            add_people(writer, bind_users(writer), {"name": "Bob"})
            assert names(reader, model) == ["Ann", "Bob"]
        # The writer compacted at close: the reader finishes the old file's
        # journal, then goes on in the new file from its snapshot's commit.
        with Storage(path, engine=engine) as writer:
            add_people(writer, bind_users(writer), {"name": "Cy"})
            assert names(reader, model) == ["Ann", "Bob", "Cy"]
        assert decoded == []


def test_reader_that_missed_commits_decodes_the_new_snapshot(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine, read_only=True) as reader:
        model = bind_users(reader)
        with Session(reader) as session:
            assert session.get(model, 1).name == "Ann"
        with Storage(path, engine=engine) as writer:
            add_people(writer, bind_users(writer), {"name": "Bob"})
            writer.engine.compact()  # type: ignore[attr-defined]
            add_people(writer, bind_users(writer), {"name": "Cy"})
            writer.engine.compact()  # type: ignore[attr-defined]
        assert names(reader, model) == ["Ann", "Bob", "Cy"]


# --- several storages of one file ----------------------------------------------------


def test_stale_write_from_another_storage_raises_conflict_error(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as first, Storage(path, engine=engine) as second:
        counter_first = bind_counters(first)
        with Session(first) as session:
            session.add(counter_first(id=1, value=0))
            session.commit()
        counter_second = bind_counters(second)
        stale = Session(first)
        mine = stale.get(counter_first, 1)
        with Session(second) as session:
            session.get(counter_second, 1).value += 1
            session.commit()
        mine.value += 1
        with pytest.raises(ConflictError):
            stale.commit()
        stale.rollback()
        stale.get(counter_first, 1).value += 1
        stale.commit()
        stale.close()
        with Session(second) as session:
            assert session.get(counter_second, 1).value == 2


def test_key_assigned_in_two_storages_at_once_is_a_conflict_to_retry(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine) as first, Storage(path, engine=engine) as second:
        model_first, model_second = bind_users(first), bind_users(second)
        slow = Session(first)
        late = model_first(name="Late")
        slow.add(late)
        slow.flush()
        add_people(second, model_second, {"name": "Early"})
        with pytest.raises(ConflictError, match="assigned"):
            slow.commit()
        slow.rollback()
        retried = model_first(name="Late")
        slow.add(retried)
        slow.commit()
        assert retried.id == 3
        slow.close()
        assert names(second, model_second) == ["Ann", "Early", "Late"]


def test_table_created_in_another_storage_is_seen_and_checked(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as first, Storage(path, engine=engine) as second:
        bind_users(first)
        assert second.table_names() == ["people"]
        add_people(second, bind_users(second), {"name": "Ann"})
        first.drop_table("people")
        assert second.table_names() == []


def test_reader_opens_and_reads_while_a_writer_holds_the_lock(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine, auto_flush=False) as holder:
        add_people(holder, bind_users(holder), {"name": "Unflushed"})
        with Storage(path, engine=engine, read_only=True) as reader:
            assert names(reader, bind_users(reader)) == ["Ann"]
            holder.flush()
            assert names(reader, bind_users(reader)) == ["Ann", "Unflushed"]


def test_file_removed_while_open_is_written_again_whole_at_the_next_commit(
    engine: str, tmp_path: Path
) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        path.unlink()
        add_people(storage, model, {"name": "Bob"})
        assert path.exists()
    assert _open_names(path, engine) == ["Ann", "Bob"]


# --- format versions ------------------------------------------------------------------


def _as_version_1(data: bytes, engine: str) -> bytes:
    """The format 1 file (no sequence number, no header checksum) of a compacted file."""
    if engine == "binary":
        return legacy_binary(data, 1)
    line_end = data.index(b"\n")
    header = orjson.loads(data[: line_end - 1] + b"}")
    old = (
        b'{"magic":"pytuck-json","format_version":1,"payload_bytes":%d,"payload_crc32":%d,'
        % (header["payload_bytes"], header["payload_crc32"])
    )
    return old + data[line_end:]


def test_format_1_file_is_read_and_rewritten_at_the_first_write(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    old = _as_version_1(path.read_bytes(), engine)
    path.write_bytes(old)
    assert _open_names(path, engine, read_only=True) == ["Ann"]
    assert path.read_bytes() == old
    with Storage(path, engine=engine, **_NO_COMPACTION) as storage:
        add_people(storage, bind_users(storage), {"name": "Bob"})
        data = path.read_bytes()
    if engine == "binary":
        assert struct.unpack_from(">H", data, 8) == (binary.FORMAT_VERSION,)
    else:
        assert b'"format_version":2,' in data[:100]
    path.write_bytes(data)
    assert _open_names(path, engine) == ["Ann", "Bob"]


def test_format_1_file_followed_by_bytes_raises_corrupt_database_error(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    damaged = _as_version_1(path.read_bytes(), engine) + b"extra"
    path.write_bytes(damaged)
    with pytest.raises(CorruptDatabaseError, match="unexpected bytes"):
        Storage(path, engine=engine)
    assert path.read_bytes() == damaged


def _journal_start(data: bytes, engine: str) -> int:
    return SNAPSHOT_FORMATS[engine].read_header(data, len(data)).end


def test_entries_are_framed_by_their_length_and_two_checksums(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    data, _ = _journaled(path, engine, 3)
    start = _journal_start(data, engine)
    journal = data[start:]
    sequences = []
    if engine == "binary":
        offset = 0
        while offset < len(journal):
            mark, sequence, length, checksum, head_check = struct.unpack_from(">4sQQII", journal, offset)
            assert mark == b"PTJE"
            assert zlib.crc32(journal[offset:offset + 24]) == head_check
            assert zlib.crc32(journal[offset + 28:offset + 28 + length]) == checksum
            sequences.append(sequence)
            offset += 28 + length
        assert offset == len(journal)
    else:
        # A JSON snapshot, then one JSON object per line and commit.
        assert orjson.loads(data[:start])["database"]["tables"][0]["rows"][0]["name"] == "base"
        for line in journal.splitlines():
            entry = orjson.loads(line)
            payload = orjson.dumps(entry["changes"])
            assert entry["payload_bytes"] == len(payload)
            assert entry["payload_crc32"] == zlib.crc32(payload)
            sequences.append(entry["sequence"])
        assert orjson.loads(journal.splitlines()[0])["changes"][0]["rows"][0]["name"] == "row 0"
    assert sequences == [3, 4, 5]  # after the table creation (1) and "base" (2)
