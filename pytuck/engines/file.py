"""What the file engines share: the memory engine, persisted as one snapshot file.

The ``binary`` and ``json`` engines keep every table in memory exactly as the
memory engine does (same transactions, indexes, planner and executor) and add
persistence through the two hooks the memory engine offers:
:meth:`~pytuck.engines.memory.engine.MemoryEngine.persist` (a commit, before it
is applied) and :meth:`~pytuck.engines.memory.engine.MemoryEngine.schema_changed`
(a table was created or dropped).

This module owns everything but the byte layout: opening (lock, read, verify,
load into :class:`~pytuck.engines.memory.store.TableStore` objects), writing
(atomic replace), ``auto_flush``, ``read_only`` and closing. A format module
supplies a :class:`SnapshotFormat` that turns :class:`TableImage` objects into
bytes and back; that seam is where a journal format will plug in later.

Durability (format version 1): with ``auto_flush=True`` every commit writes a
complete snapshot of the database to a temporary file in the same folder,
fsyncs it, renames it over the database file and fsyncs the folder, so a crash
leaves either the old or the new database, never a mixture. A commit therefore
costs O(size of the database); an append-only journal will replace this. With
``auto_flush=False`` commits only mark the database dirty, and :meth:`flush` or
:meth:`close` writes the snapshot.

Processes: a writable engine holds an exclusive lock on ``<path>.lock`` (next
to the file a symlink points to, if it is one) until it is closed, so a second
writer (another process, or another ``Storage`` in this one) fails at once
with :class:`~pytuck.errors.DatabaseConnectionError`. The lock file stays in
place after close (removing it would let two writers lock different files).
A ``read_only`` engine takes no lock, loads the data as it is when opened and
never sees later commits of a writer.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import re
import secrets
import stat
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import filelock

from pytuck.engines.base import Capabilities
from pytuck.engines.memory.engine import MemoryEngine, MemoryTransaction
from pytuck.engines.memory.store import TableStore
from pytuck.errors import (
    ConfigurationError,
    CorruptDatabaseError,
    DatabaseConnectionError,
    PytuckError,
    ReadOnlyError,
    SerializationError,
    TransactionError,
)
from pytuck.query.statements import Delete, Update
from pytuck.schema import TableSchema

__all__ = [
    "FileEngine",
    "SnapshotFormat",
    "TableImage",
    "DamagedFile",
    "write_atomically",
    "plain_datetime",
    "paused_gc",
]

Row = dict[str, Any]
ChangeSet = list[tuple[str, list[tuple[Any, Row | None]]]]


@dataclass(frozen=True)
class TableImage:
    """One table as a snapshot holds it.

    Attributes:
        schema: the table's schema.
        next_id: the next integer key the engine will assign (kept so keys are
            never reused across reopen).
        rows: the rows, each a dict of stored column name -> value in the form
            the memory engine keeps them (JSON documents as their encoded bytes).
    """

    schema: TableSchema
    next_id: int
    rows: Collection[Row]


class DamagedFile(Exception):
    """Raised by a :class:`SnapshotFormat` when bytes are not a database it can read.

    The engine turns it into :class:`~pytuck.errors.CorruptDatabaseError`
    naming the file.

    Args:
        reason: what is wrong, in words.
        offset: the byte offset of the problem, when known.
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


class SnapshotFormat(ABC):
    """A byte layout of a whole database: header, schemas and rows.

    Implementations must detect any damage (wrong magic, truncation, changed
    bytes, a newer format version) and raise :class:`DamagedFile` for it,
    never return partial data.
    """

    #: Short name used in messages ("binary", "json").
    name: str = ""

    @abstractmethod
    def encode(self, tables: Sequence[TableImage]) -> bytes:
        """The complete file content holding ``tables``.

        Raises:
            SerializationError: a value cannot be stored in this format.
        """

    @abstractmethod
    def decode(self, data: bytes) -> list[TableImage]:
        """The tables held by a complete file content.

        Raises:
            DamagedFile: ``data`` is not an intact database of this format.
        """


def plain_datetime(value: dt.datetime) -> dt.datetime:
    """``value`` as an exact :class:`datetime.datetime` (subclasses such as pandas' are rebuilt).

    Stored values must come back as the contract type, so encoders store
    plain datetimes only.
    """
    if type(value) is dt.datetime:
        return value
    return dt.datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond, value.tzinfo, fold=value.fold,
    )


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a whole database is encoded or decoded.

    Building or walking every row creates containers by the hundred thousand,
    which triggers full collections whose cost grows with the heap (about
    2.5x the decoding time: perf-facts.md, sections 2 and 3). The collector is
    resumed afterwards only if it was running.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_atomically(path: str, data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` so a crash leaves the old or the new file.

    The bytes go to a temporary file in the same folder, which is fsynced and
    renamed over ``path``; then the folder is fsynced so the rename itself is
    durable. The temporary file is removed if anything fails.

    Raises:
        OSError: the folder is not writable, the disk is full, ...
    """
    folder = os.path.dirname(os.path.abspath(path))
    temporary = f"{path}.{secrets.token_hex(8)}.tmp"
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666  # a new database gets the default permissions (less the umask)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    # The rename is only durable once the folder entry is on disk. Windows
    # cannot open a folder for fsync; its rename is journaled by NTFS.
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stale_temporaries(path: str) -> list[str]:
    """Temporary files a crashed writer left next to ``path`` (see write_atomically)."""
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    pattern = re.compile(re.escape(base) + r"\.[0-9a-f]{16}\.tmp")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, name) for name in names if pattern.fullmatch(name)]


class _ReadOnlyTransaction(MemoryTransaction):
    """A transaction of a read-only file engine: reads work, every write is refused."""

    engine: FileEngine

    def insert(self, table: TableSchema, rows: Sequence[Row]) -> list[Any]:
        """Refused: the storage is read-only."""
        raise self.engine.refusal("insert rows into", table.name)

    def update_rows(self, table: TableSchema, changes: Sequence[tuple[Any, Row]]) -> int:
        """Refused: the storage is read-only."""
        raise self.engine.refusal("update rows of", table.name)

    def delete_rows(self, table: TableSchema, pks: Sequence[Any]) -> int:
        """Refused: the storage is read-only."""
        raise self.engine.refusal("delete rows of", table.name)

    def update(self, statement: Update) -> int:
        """Refused: the storage is read-only."""
        raise self.engine.refusal("update rows of", statement.table.name)

    def delete(self, statement: Delete) -> int:
        """Refused: the storage is read-only."""
        raise self.engine.refusal("delete rows of", statement.table.name)


class FileEngine(MemoryEngine):
    """A memory engine whose tables live in one file between runs.

    Subclasses set :attr:`name` and :attr:`snapshot_format` and register
    themselves. See the module docstring for durability, locking and
    read-only behaviour.

    Args:
        path: the database file. A missing file is a new, empty database,
            written on the first table creation, commit or flush.
        auto_flush: write a snapshot at every commit and table creation
            (default). With False, only :meth:`flush` and :meth:`close` write.
        read_only: take no lock, load the data as of opening, refuse every
            write with :class:`~pytuck.errors.ReadOnlyError`.

    Raises:
        ConfigurationError: no path, the path is a folder, its folder is
            missing, or an unknown option was given.
        CorruptDatabaseError: the file is not a database of this engine, is
            damaged, or was written by a newer pytuck (the file is left as it is).
        DatabaseConnectionError: another writer holds the database.
    """

    capabilities = Capabilities(persistent=True, sql=False)

    #: The byte layout of this engine's files.
    snapshot_format: SnapshotFormat

    def __init__(
        self,
        path: str | None = None,
        *,
        auto_flush: bool = True,
        read_only: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(None)
        if options:
            raise ConfigurationError(
                f"the {self.name} engine takes the options auto_flush and read_only, "
                f"got unknown {sorted(options)}"
            )
        if path is None:
            raise ConfigurationError(
                f"the {self.name} engine stores into a file: give Storage a file path "
                "(or use in_memory=True)"
            )
        self.path = os.fspath(path)
        self.location = self.path
        # Files are reached through the resolved absolute path: a later chdir
        # cannot redirect writes, and a symlinked database stays a symlink.
        self._file = os.path.realpath(self.path)
        self.auto_flush = auto_flush
        self.read_only = read_only
        # dirty: the file lags behind the committed tables (auto_flush=False,
        # or a table creation whose write failed); flush() and close() write it.
        self.dirty = False
        self._file_lock: filelock.BaseFileLock | None = None
        self._check_path()
        if not read_only:
            self._acquire_lock()
        try:
            self._load()
            if not read_only:
                for stale in _stale_temporaries(self._file):
                    with suppress(OSError):
                        os.unlink(stale)
        except BaseException:
            self._release_lock()
            self.closed = True
            raise

    # --- opening ---------------------------------------------------------------
    def _check_path(self) -> None:
        if os.path.isdir(self._file):
            raise ConfigurationError(
                f"{self.path} is a folder; give the {self.name} engine a file path inside it"
            )
        folder = os.path.dirname(self._file)
        if not os.path.isdir(folder):
            raise ConfigurationError(
                f"cannot open {self.path}: the folder {folder} does not exist; create it first"
            )

    def _acquire_lock(self) -> None:
        lock = filelock.FileLock(self._file + ".lock", thread_local=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            raise DatabaseConnectionError(
                f"{self.path} is already open for writing (its lock file {self._file}.lock is "
                "held by another process or another Storage); close that one first, or open "
                "this one with read_only=True",
                details={"path": self.path},
            ) from None
        self._file_lock = lock

    def _release_lock(self) -> None:
        lock, self._file_lock = self._file_lock, None
        if lock is not None:
            lock.release(force=True)

    def _load(self) -> None:
        try:
            with open(self._file, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return
        if not data:
            raise self._corrupt("the file is empty, so it is not a pytuck database")
        try:
            with paused_gc():
                images = self.snapshot_format.decode(data)
                tables = {image.schema.name: _load_table(image) for image in images}
        except DamagedFile as exc:
            raise self._corrupt(exc.reason, exc.offset) from None
        self.tables = tables

    def _corrupt(self, reason: str, offset: int | None = None) -> CorruptDatabaseError:
        where = f" at byte {offset}" if offset is not None else ""
        return CorruptDatabaseError(
            f"{self.path} cannot be opened as a {self.name} database{where}: {reason}. "
            "The file was left untouched; restore it from a backup or open another file",
            details={"path": self.path, "offset": offset},
        )

    # --- writing ----------------------------------------------------------------
    def refusal(self, action: str, table: str | None = None) -> ReadOnlyError:
        """The error for a write attempted through a read-only engine."""
        what = f"{action} table {table!r}" if table is not None else action
        return ReadOnlyError(
            f"cannot {what}: {self.path} is open read-only; open it without read_only=True to write",
            table_name=table,
            details={"path": self.path},
        )

    def _check_writable(self, action: str, table: str | None = None) -> None:
        if self.read_only:
            raise self.refusal(action, table)
        if self.closed:
            raise TransactionError(
                f"{self.path} is closed; open a new Storage to use it", table_name=table
            )

    def _images(self, changes: ChangeSet | None = None) -> list[TableImage]:
        """Every table as it stands, with a not-yet-applied change set merged in."""
        pending = dict(changes) if changes else {}
        images = []
        for name, store in self.tables.items():
            rows = store.rows
            table_changes = pending.get(name)
            if table_changes:
                rows = dict(rows)
                for pk, row in table_changes:
                    if row is None:
                        rows.pop(pk, None)
                    else:
                        rows[pk] = row
            images.append(TableImage(store.schema, store.next_id, rows.values()))
        return images

    def _write(self, images: Sequence[TableImage]) -> None:
        try:
            with paused_gc():
                data = self.snapshot_format.encode(images)
        except PytuckError:
            raise
        except Exception as exc:  # an encoder refusing a value: name the file
            raise SerializationError(
                f"{self.path}: a value cannot be stored by the {self.name} engine: {exc}",
                details={"path": self.path},
            ) from exc
        write_atomically(self._file, data)

    def persist(self, sequence: int, changes: ChangeSet) -> None:
        """Write the snapshot that includes ``changes`` (auto_flush) or mark it pending.

        Called by a commit under the engine lock, before the changes are
        applied; if it raises, the commit fails and nothing is applied.

        Raises:
            ReadOnlyError: the engine is read-only.
            SerializationError: a value cannot be stored in this format.
            OSError: the file could not be written.
        """
        self._check_writable("commit changes to", changes[0][0] if changes else None)
        if self.auto_flush:
            self._write(self._images(changes))
            self.dirty = False
        else:
            self.dirty = True

    def schema_changed(self) -> None:
        """A table was created or dropped: write the snapshot (auto_flush) or mark it pending."""
        self.dirty = True
        if self.auto_flush:
            self._write(self._images())
            self.dirty = False

    def ensure_table(self, schema: TableSchema) -> TableSchema:
        """Create the table if missing (written at once with auto_flush); else check it.

        Raises:
            ReadOnlyError: the table is missing and the engine is read-only.
            SchemaError: the stored table disagrees with ``schema``.
        """
        with self.lock:
            if schema.name not in self.tables:
                self._check_writable("create", schema.name)
            return super().ensure_table(schema)

    def drop_table(self, name: str) -> None:
        """Remove a table and its rows (written at once with auto_flush).

        Raises:
            ReadOnlyError: the engine is read-only.
        """
        with self.lock:
            self._check_writable("drop", name)
            super().drop_table(name)

    def begin(self) -> MemoryTransaction:
        """Start a transaction (one that refuses writes when read-only)."""
        if self.read_only and not self.closed:
            return _ReadOnlyTransaction(self)
        return super().begin()

    def flush(self) -> None:
        """Write the snapshot if commits since the last write are pending.

        With ``auto_flush=True`` there is normally nothing pending. A read-only
        or closed engine has nothing to write.
        """
        with self.lock:
            if self.dirty and not self.read_only and not self.closed:
                self._write(self._images())
                self.dirty = False

    def close(self) -> None:
        """Write pending changes, then release the lock. Idempotent.

        The lock is released even if the final write fails (the error is raised).
        """
        with self.lock:
            if self.closed:
                return
            try:
                self.flush()
            finally:
                self.closed = True
                self._release_lock()


def _load_table(image: TableImage) -> TableStore:
    """Build a committed table store from a snapshot image, indexes included.

    Rows are adopted as they are and each index is rebuilt with one sort,
    which is much cheaper for a large file than inserting row by row.
    """
    store = TableStore(image.schema)
    key = store.primary_key
    try:
        rows = {row[key]: row for row in image.rows}
    except (KeyError, TypeError) as exc:
        raise DamagedFile(f"table {image.schema.name!r} holds a row without a usable key ({exc})") from None
    if len(rows) != len(image.rows):
        raise DamagedFile(f"table {image.schema.name!r} holds two rows with the same key")
    if not isinstance(image.next_id, int) or isinstance(image.next_id, bool):
        raise DamagedFile(f"table {image.schema.name!r} has an invalid next key {image.next_id!r}")
    store.rows = rows
    store.next_id = max(image.next_id, 1)
    for name, index in store.indexes.items():
        try:
            index.rebuild((row[name], pk) for pk, row in rows.items())
        except (KeyError, TypeError) as exc:
            raise DamagedFile(
                f"table {image.schema.name!r}: column {name!r} cannot be indexed ({exc})"
            ) from None
    return store
