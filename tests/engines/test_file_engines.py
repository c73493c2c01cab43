"""The file engines (binary, json): header, durability modes, atomic writes,
damaged snapshots, read-only use, locking and what a reopen restores.

The journal (appends, torn entries, compaction, other storages of one file)
is tested in test_file_journal.py, several processes in test_file_processes.py."""

from __future__ import annotations

import os
import random
import re
import struct
from pathlib import Path

import orjson
import pytest

from pytuck import (
    Column,
    ConfigurationError,
    CorruptDatabaseError,
    DatabaseConnectionError,
    DuplicateKeyError,
    ReadOnlyError,
    SerializationError,
    Session,
    Storage,
    TransactionError,
    declarative_base,
    delete,
    update,
)
from pytuck.engines import binary, json
from pytuck.engines.file import FileEngine
from pytuck.schema import ColumnSchema, TableSchema
from tests.engines.file_helpers import (
    FILE_ENGINES,
    SNAPSHOT_FORMATS,
    add_people,
    binary_pages_start,
    bind_users,
    database_path,
    make_database,
    names,
)

pytestmark = pytest.mark.parametrize("engine", list(FILE_ENGINES))


def _engine(storage: Storage) -> FileEngine:
    assert isinstance(storage.engine, FileEngine)
    return storage.engine


def _open_must_fail(path: Path, engine: str) -> CorruptDatabaseError:
    with pytest.raises(CorruptDatabaseError) as caught:
        Storage(path, engine=engine)
    return caught.value


# --- header ---------------------------------------------------------------------


def test_file_starts_with_magic_and_format_version(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    data = path.read_bytes()
    if engine == "binary":
        assert data.startswith(binary.MAGIC)
        assert struct.unpack_from(">H", data, len(binary.MAGIC)) == (binary.FORMAT_VERSION,)
    else:
        header = orjson.loads(data.split(b"\n", 1)[0][:-1] + b"}")
        assert header["magic"] == "pytuck-json" and header["format_version"] == 2
        assert orjson.loads(data)["database"]["tables"][0]["schema"]["name"] == "people"


def test_closed_file_is_one_snapshot_recording_its_last_commit(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann", "Bob")
    data = path.read_bytes()
    header = SNAPSHOT_FORMATS[engine].read_header(data, len(data))
    assert header.end == len(data)  # close() compacted: no journal follows
    assert header.sequence == 2  # the table creation, then the commit


def test_engine_reports_name_and_persistence(engine: str, tmp_path: Path) -> None:
    with Storage(database_path(tmp_path, engine), engine=engine) as storage:
        assert storage.engine.name == engine
        assert storage.engine.capabilities.persistent is True
        assert storage.engine.capabilities.sql is False


# --- opening ----------------------------------------------------------------------


def test_missing_file_is_a_new_database_written_at_table_creation(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as storage:
        assert storage.table_names() == []
        assert not path.exists()
        bind_users(storage)
        assert path.exists()


def test_rows_tables_and_keys_survive_reopen(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann", "Bob")
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        assert storage.table_names() == ["people"]
        assert names(storage, model) == ["Ann", "Bob"]


def test_assigned_keys_are_not_reused_after_reopen(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann", "Bob", "Cy")
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        with Session(storage) as session:
            session.execute(delete(model).where(model.id == 3))
            session.commit()
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        with Session(storage) as session:
            person = model(name="Dee")
            session.add(person)
            session.commit()
            assert person.id == 4


def test_sorted_index_answers_ranges_after_reopen(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    ages = random.Random(7).sample(range(100), 40)
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        add_people(storage, model, *({"name": f"p{age}", "age": age} for age in ages))
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        with Session(storage) as session:
            found = [p.age for p in session.query(model).filter(model.age >= 50).order_by(model.age)]
    assert found == sorted(age for age in ages if age >= 50)


def test_unique_constraint_holds_after_reopen(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        add_people(storage, model, {"name": "Ann", "email": "ann@x.io"})
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        session = Session(storage)
        session.add(model(name="Copy", email="ann@x.io"))
        with pytest.raises(DuplicateKeyError, match="ann@x.io"):
            session.commit()
        session.close()


def test_dropped_table_stays_dropped(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    with Storage(path, engine=engine) as storage:
        storage.drop_table("people")
    with Storage(path, engine=engine) as storage:
        assert storage.table_names() == []


def test_folder_as_path_raises_configuration_error(engine: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="folder"):
        Storage(tmp_path, engine=engine)


def test_missing_folder_raises_configuration_error(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "absent" / f"db{FILE_ENGINES[engine]}"
    with pytest.raises(ConfigurationError, match="does not exist"):
        Storage(path, engine=engine)


def test_unknown_option_raises_configuration_error(engine: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="colour"):
        Storage(database_path(tmp_path, engine), engine=engine, colour="blue")


@pytest.mark.parametrize("option", ["lock_timeout", "compact_ratio", "compact_min_bytes"])
def test_negative_or_non_numeric_option_raises_configuration_error(
    engine: str, tmp_path: Path, option: str
) -> None:
    for bad in (-1, "10", True):
        with pytest.raises(ConfigurationError, match=option):
            Storage(database_path(tmp_path, engine), engine=engine, **{option: bad})


# --- durability modes -------------------------------------------------------------


def test_commit_is_on_disk_when_it_returns(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        add_people(storage, model, {"name": "Ann"})
        with Storage(path, engine=engine, read_only=True) as reader:
            assert names(reader, bind_users(reader)) == ["Ann"]


def test_auto_flush_off_writes_no_new_file_before_flush(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine, auto_flush=False) as storage:
        model = bind_users(storage)
        add_people(storage, model, {"name": "Ann"})
        assert not path.exists()
        storage.flush()
        with Storage(path, engine=engine, read_only=True) as reader:
            assert names(reader, bind_users(reader)) == ["Ann"]


def test_auto_flush_off_leaves_file_unchanged_until_close(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    before = path.read_bytes()
    storage = Storage(path, engine=engine, auto_flush=False)
    model = bind_users(storage)
    add_people(storage, model, {"name": "Bob"})
    assert path.read_bytes() == before
    storage.close()
    with Storage(path, engine=engine) as reopened:
        assert names(reopened, bind_users(reopened)) == ["Ann", "Bob"]


def test_close_is_idempotent(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    storage = Storage(path, engine=engine, auto_flush=False)
    add_people(storage, bind_users(storage), {"name": "Ann"})
    engine_object = _engine(storage)
    engine_object.close()
    written = path.read_bytes()
    engine_object.close()
    storage.close()
    assert path.read_bytes() == written


def test_closed_engine_refuses_new_transactions(engine: str, tmp_path: Path) -> None:
    storage = Storage(database_path(tmp_path, engine), engine=engine)
    storage.close()
    with pytest.raises(TransactionError, match="closed"):
        storage.engine.begin()


# --- atomic writes ----------------------------------------------------------------


def test_commits_leave_no_temporary_files(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        for name in ("Ann", "Bob", "Cy"):
            add_people(storage, model, {"name": name})
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, path.name + ".lock"])


def test_failed_write_applies_nothing_and_leaves_no_temporary_file(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    before = path.read_bytes()
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)

        def broken_sync(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", broken_sync)
        monkeypatch.setattr(os, "fdatasync", broken_sync, raising=False)
        session = Session(storage)
        session.add(model(name="Bob"))
        with pytest.raises(OSError, match="No space"):
            session.commit()
        session.close()
        monkeypatch.undo()
        assert path.read_bytes() == before
        assert sorted(os.listdir(tmp_path)) == sorted([path.name, path.name + ".lock"])
        assert names(storage, model) == ["Ann"]


def test_unstorable_value_fails_the_commit_with_serialization_error(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    before = path.read_bytes()
    with Storage(path, engine=engine) as storage:
        table = storage.engine.table_schema("people")
        assert table is not None
        transaction = storage.engine.begin()
        transaction.insert(table, [{"name": object()}])
        with pytest.raises(SerializationError, match=re.escape(path.name)):
            transaction.commit()
        assert storage.engine.begin().get(table, 2) is None
    assert path.read_bytes() == before


def test_stale_temporary_file_of_a_crashed_writer_is_removed(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    make_database(path, engine, "Ann")
    stale = tmp_path / f"{path.name}.0123456789abcdef.tmp"
    stale.write_bytes(b"half a database")
    with Storage(path, engine=engine):
        assert not stale.exists()


# --- damaged files ----------------------------------------------------------------


@pytest.fixture
def database(engine: str, tmp_path: Path) -> Path:
    """A closed database of the engine under test, holding a few rows."""
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        add_people(
            storage, model, *({"name": f"person {i}", "email": f"p{i}@x.io", "age": i} for i in range(8))
        )
    return path


def test_truncated_file_raises_corrupt_database_error(engine: str, database: Path) -> None:
    original = database.read_bytes()
    cuts = [0, 1, 5, len(original) - 1, *random.Random(3).sample(range(2, len(original) - 1), 12)]
    for cut in cuts:
        database.write_bytes(original[:cut])
        error = _open_must_fail(database, engine)
        assert str(database) in str(error)
        assert database.read_bytes() == original[:cut]


def _open_and_read_must_fail(path: Path, engine: str) -> CorruptDatabaseError:
    with pytest.raises(CorruptDatabaseError) as caught:
        with Storage(path, engine=engine) as storage:
            names(storage, bind_users(storage))
    return caught.value


def test_bit_flipped_file_raises_corrupt_database_error(engine: str, database: Path) -> None:
    # Opening checks everything but the pages of a binary file, which are
    # checked when first read: there, reading the rows must fail instead.
    original = database.read_bytes()
    checked_at_open = binary_pages_start(original) if engine == "binary" else len(original)
    rng = random.Random(11)
    positions = list(range(min(40, len(original)))) + rng.sample(range(len(original)), 40)
    for position in positions:
        damaged = bytearray(original)
        damaged[position] ^= 1 << rng.randrange(8)
        database.write_bytes(bytes(damaged))
        if position < checked_at_open:
            error = _open_must_fail(database, engine)
        else:
            error = _open_and_read_must_fail(database, engine)
        assert str(database) in str(error)
        assert database.read_bytes() == bytes(damaged)


@pytest.mark.parametrize(
    "content",
    [b"hello, this is not a database\n", bytes(random.Random(5).randrange(256) for _ in range(300)),
     b'{"tables": []}', b"SQLite format 3\x00" + bytes(100)],
    ids=["text", "random-bytes", "other-json", "sqlite"],
)
def test_foreign_file_raises_corrupt_database_error(engine: str, tmp_path: Path, content: bytes) -> None:
    path = database_path(tmp_path, engine)
    path.write_bytes(content)
    error = _open_must_fail(path, engine)
    assert str(path) in str(error) and "not a pytuck" in str(error)
    assert path.read_bytes() == content


def test_empty_file_raises_corrupt_database_error(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    path.write_bytes(b"")
    error = _open_must_fail(path, engine)
    assert "empty" in str(error)
    assert path.read_bytes() == b""


def test_file_of_a_newer_format_version_raises_corrupt_database_error(engine: str, database: Path) -> None:
    data = database.read_bytes()
    if engine == "binary":
        newer = data[:8] + struct.pack(">H", binary.FORMAT_VERSION + 1) + data[10:]
    else:
        marker = b'"format_version":%d,' % json.FORMAT_VERSION
        newer = data.replace(marker, b'"format_version":%d,' % (json.FORMAT_VERSION + 1), 1)
    database.write_bytes(newer)
    error = _open_must_fail(database, engine)
    assert "newer" in str(error) and str(database) in str(error)
    assert database.read_bytes() == newer


def test_corrupt_error_names_the_offset_of_the_damage(engine: str, database: Path) -> None:
    data = database.read_bytes()
    database.write_bytes(data[:-10])
    error = _open_must_fail(database, engine)
    assert error.details["path"] == str(database)
    assert error.details["offset"] == len(data) - 10
    assert f"at byte {len(data) - 10}" in str(error)


def test_failed_open_releases_the_lock(engine: str, database: Path) -> None:
    original = database.read_bytes()
    database.write_bytes(original[:20])
    _open_must_fail(database, engine)
    database.write_bytes(original)
    with Storage(database, engine=engine) as storage:
        assert len(names(storage, bind_users(storage))) == 8


# --- read-only ------------------------------------------------------------------------


_WRITES = {
    "insert": lambda tx, model: tx.insert(model.__table__, [{"name": "Eve"}]),
    "update_rows": lambda tx, model: tx.update_rows(model.__table__, [(1, {"name": "New"})]),
    "delete_rows": lambda tx, model: tx.delete_rows(model.__table__, [1]),
    "update": lambda tx, model: tx.update(update(model).values(name="New")),
    "delete": lambda tx, model: tx.delete(delete(model)),
}


@pytest.mark.parametrize("write", list(_WRITES))
def test_read_only_transaction_refuses_every_write(engine: str, database: Path, write: str) -> None:
    with Storage(database, engine=engine, read_only=True) as storage:
        model = bind_users(storage)
        transaction = storage.engine.begin()
        with pytest.raises(ReadOnlyError, match=re.escape(str(database))) as caught:
            _WRITES[write](transaction, model)
        assert caught.value.table_name == "people"
        transaction.rollback()


def test_read_only_session_refuses_writes(engine: str, database: Path) -> None:
    with Storage(database, engine=engine, read_only=True) as storage:
        model = bind_users(storage)
        with Session(storage) as session, pytest.raises(ReadOnlyError):
            session.add(model(name="Eve"))
            session.commit()


def test_read_only_refuses_creating_and_dropping_tables(engine: str, database: Path) -> None:
    schema = TableSchema("other", (ColumnSchema("id", int, primary_key=True, nullable=False),))
    with Storage(database, engine=engine, read_only=True) as storage:
        with pytest.raises(ReadOnlyError, match="other"):
            storage.engine.ensure_table(schema)
        with pytest.raises(ReadOnlyError, match="people"):
            storage.engine.drop_table("people")
        assert storage.table_names() == ["people"]


def test_read_only_reads_the_data(engine: str, database: Path) -> None:
    with Storage(database, engine=engine, read_only=True) as storage:
        assert len(names(storage, bind_users(storage))) == 8


def test_read_only_sees_later_commits_from_its_next_transaction(engine: str, database: Path) -> None:
    with Storage(database, engine=engine) as writer:
        with Storage(database, engine=engine, read_only=True) as reader:
            model = bind_users(reader)
            with Session(reader) as session:
                assert session.get(model, 1) is not None  # the transaction has begun
                add_people(writer, bind_users(writer), {"name": "Late"})
                assert session.query(model).filter(model.name == "Late").count() == 0
            assert "Late" in names(reader, model)


def test_read_only_sees_tables_created_after_it_opened(engine: str, tmp_path: Path) -> None:
    path = database_path(tmp_path, engine)
    with Storage(path, engine=engine) as writer:
        with Storage(path, engine=engine, read_only=True) as reader:
            assert reader.table_names() == []
            add_people(writer, bind_users(writer), {"name": "Ann"})
            assert reader.table_names() == ["people"]
            assert names(reader, bind_users(reader)) == ["Ann"]


def test_read_only_close_leaves_the_file_untouched(engine: str, database: Path) -> None:
    before = database.read_bytes()
    stamp = database.stat().st_mtime_ns
    with Storage(database, engine=engine, read_only=True, auto_flush=False) as storage:
        bind_users(storage)
    assert database.read_bytes() == before and database.stat().st_mtime_ns == stamp


# --- locking (in this process; tests/engines/test_file_processes.py crosses processes) ----


def test_two_writable_storages_of_one_file_see_each_others_commits(engine: str, database: Path) -> None:
    with Storage(database, engine=engine) as first, Storage(database, engine=engine) as second:
        add_people(first, bind_users(first), {"name": "From first"})
        add_people(second, bind_users(second), {"name": "From second"})
        assert {"From first", "From second"} <= set(names(first, bind_users(first)))
    with Storage(database, engine=engine) as reopened:
        assert {"From first", "From second"} <= set(names(reopened, bind_users(reopened)))


def test_writer_waiting_for_the_lock_times_out_naming_the_file(engine: str, database: Path) -> None:
    with Storage(database, engine=engine, auto_flush=False) as holder:
        add_people(holder, bind_users(holder), {"name": "Buffered"})  # holds the lock until flush
        with Storage(database, engine=engine, lock_timeout=0.05) as waiter:
            with pytest.raises(DatabaseConnectionError, match="lock_timeout") as caught:
                add_people(waiter, bind_users(waiter), {"name": "Blocked"})
            assert str(database) in str(caught.value)
            holder.flush()
            add_people(waiter, bind_users(waiter), {"name": "After flush"})
            assert {"Buffered", "After flush"} <= set(names(waiter, bind_users(waiter)))


def test_close_releases_the_lock(engine: str, database: Path) -> None:
    Storage(database, engine=engine).close()
    with Storage(database, engine=engine) as storage:
        assert storage.table_names() == ["people"]


def test_symlinked_database_is_written_through_the_link(engine: str, database: Path) -> None:
    link = database.with_name("link" + database.suffix)
    link.symlink_to(database)
    with Storage(link, engine=engine) as storage:
        add_people(storage, bind_users(storage), {"name": "Via link"})
    assert link.is_symlink()
    with Storage(database, engine=engine) as storage:
        assert "Via link" in names(storage, bind_users(storage))


def test_relative_path_keeps_its_file_after_a_change_of_folder(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    relative = Path(f"db{FILE_ENGINES[engine]}")
    with Storage(relative, engine=engine) as storage:
        model = bind_users(storage)
        monkeypatch.chdir(tmp_path / "elsewhere")
        add_people(storage, model, {"name": "Ann"})
    assert not (tmp_path / "elsewhere" / relative).exists()
    with Storage(tmp_path / relative, engine=engine) as storage:
        assert names(storage, bind_users(storage)) == ["Ann"]


def test_read_only_refuses_declaring_a_model_of_a_missing_table(engine: str, database: Path) -> None:
    with Storage(database, engine=engine, read_only=True) as storage:
        base = declarative_base(storage)
        with pytest.raises(ReadOnlyError, match="ghosts"):

            class Ghost(base):  # type: ignore[misc, valid-type]
                __tablename__ = "ghosts"
                id = Column(int, primary_key=True)


def test_read_only_knows_declared_models_by_table_name(engine: str, database: Path) -> None:
    with Storage(database, engine=engine, read_only=True) as storage:
        model = bind_users(storage)
        assert storage.model_for("people") is model
