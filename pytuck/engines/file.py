"""What the file engines share: the memory engine, persisted as a snapshot plus a journal.

The ``binary`` and ``json`` engines keep every table in memory exactly as the
memory engine does (same transactions, indexes, planner and executor) and add
persistence through the hook the memory engine offers:
:meth:`~pytuck.engines.memory.engine.MemoryEngine.persist` (a commit's change
set, before it is applied). Table creation and dropping are written by this
module's own ``ensure_table``/``drop_table``.

**The file.** One file holds a *snapshot* (the whole database as of one
commit, numbered by that commit's sequence number: see
:mod:`pytuck.engines.snapshot`) followed by the *journal*: one framed,
checksummed entry per commit made since (see :mod:`pytuck.engines.journal`).
A format module supplies the byte layouts: a
:class:`~pytuck.engines.snapshot.SnapshotFormat` (header, schemas and rows,
whole or in pages) and a :class:`~pytuck.engines.journal.JournalFormat`
(entries). Everything else is here: opening, replaying, locking, appending,
compacting, following other processes, ``auto_flush``, ``read_only`` and
closing.

**Durability.** With ``auto_flush=True`` (the default) a commit appends its
entry at the end of the journal and syncs it (fdatasync) before ``commit()``
returns, so a commit costs time proportional to the change, not to the
database. With ``auto_flush=False`` commits are applied in memory and their
entries buffered; :meth:`FileEngine.flush` or :meth:`FileEngine.close` writes
them in one append. While entries are buffered the engine keeps the writer
lock (below), so no other process can commit in between and the buffered
entries always follow the file's last entry.

**Compaction** writes a fresh snapshot of the whole database to a temporary
file in the same folder, fsyncs it, renames it over the database file and
fsyncs the folder. A crash leaves either the old file (snapshot + journal) or
the new one (snapshot only), both complete, so nothing is ever applied twice
or lost. It runs when the journal grows past ``max(compact_min_bytes,
compact_ratio x snapshot size)`` after a commit (256 KiB and 0.25 by default:
replaying a journal costs more per byte than decoding a snapshot; measured,
a full journal made a 100,000-row binary database open in 1.3 s instead of
0.5 s, and a 100-row one in 45 ms),
at :meth:`FileEngine.close` when the journal is not empty, and on
:meth:`FileEngine.compact`. Before compacting, buffered entries are appended
first, so the old file always holds every entry up to the new snapshot. A
table still deferred (below) that no commit changed is copied page by page,
undecoded (each page's checksum checked); afterwards it reads its pages from
the new file.

**Opening** reads the snapshot and replays the journal. A whole snapshot
(json, older binary files) is decoded and indexed at once. A paged snapshot
(binary) is read as far as its directory: each table starts *deferred*
(:class:`~pytuck.engines.memory.store.TableStore` with rows still in the
file): a lookup by primary key (``get``) decodes the one page that can hold
the key, and anything else that reads the table (a query, a scan, a write,
a unique check) first loads it whole, once, under the engine lock. Journal
entries for a deferred table are kept on top of its pages (they win over
them, and give the versions conflict checks need) until it loads. A torn last entry
(a crash mid-append) is ignored, and cut off by the next writer; any other
damage raises :class:`~pytuck.errors.CorruptDatabaseError` naming the file
and the byte offset, and nothing is written to the file. A damaged page is
found when it is first read (a lookup, a load, a compaction), not at opening.

**Several processes** may open one file at once. Writers are serialised by a
lock on ``<file>.lock`` (filelock's lock, taken with
:func:`filelock.lock_descriptor` on a descriptor kept open), held for one
commit, table creation or compaction, not for the storage's lifetime; a
writer waits up to ``lock_timeout`` seconds (default 10) for it, then raises
:class:`~pytuck.errors.DatabaseConnectionError`. Each engine catches up with
the file (reads the journal entries other processes appended) when a
transaction begins, when the table list is read, and under the lock before
a commit is checked and written. A compaction by another process is noticed
by the file's identity (device and inode) changing: the engine finishes the
old file's journal, then continues in the new file, decoding its snapshot
only if it holds commits this engine has not seen. Deferred tables keep
reading their pages from the file they were opened from (an open descriptor
keeps a replaced file readable), until they load or the engine closes.

No update is lost: a transaction that writes a row another process committed
after the transaction began gets :class:`~pytuck.errors.ConflictError` at
the write or at commit, exactly as between threads of one process (first
committer wins); roll back and retry. A key the engine assigned that another
process assigned and committed first is a ``ConflictError`` too.

**Read-only** (``read_only=True``): no lock, no write of any kind (a torn
tail is left in place); the data is as of opening and refreshed at every
transaction begin, so each new transaction sees every commit made before it.
"""

from __future__ import annotations

import functools
import os
import random
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import filelock

from pytuck.engines.base import Capabilities
from pytuck.engines.journal import (
    DamagedFile,
    Entry,
    JournalFormat,
    RowsChanged,
    TableCreated,
    TableDropped,
    append,
    read_at,
    read_entries,
)
from pytuck.engines.memory.engine import MemoryEngine, MemoryTransaction
from pytuck.engines.memory.store import TableStore
from pytuck.engines.snapshot import (
    PagedRows,
    PageFile,
    SnapshotFormat,
    SnapshotHeader,
    SnapshotReads,
    TableImage,
    damaged_page,
    deferred_table,
    load_table,
    move_deferred_tables,
    paused_gc,
    stale_temporaries,
    table_images,
    write_atomically,
)
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

__all__ = ["FileEngine"]

Row = dict[str, Any]
ChangeSet = list[tuple[str, list[tuple[Any, Row | None]]]]

_BINARY = getattr(os, "O_BINARY", 0)
#: Bytes read to find a snapshot's header (and a paged snapshot's directory) in one read.
_HEADER_PREFIX = 65_536


class _Handles:
    """The descriptors an engine keeps open: closed by close(), or when the engine is collected."""

    __slots__ = ("read", "write", "lock", "pages")

    def __init__(self) -> None:
        self.read: int | None = None  # the database file, for reading
        self.write: int | None = None  # the same file, for appending (opened on first write)
        self.lock: int | None = None  # <file>.lock, for the writer lock
        # Snapshot files whose pages deferred tables may still read (each
        # closes itself once no table needs it).
        self.pages: weakref.WeakSet[PageFile] = weakref.WeakSet()

    def close_file(self) -> None:
        read, write, self.read, self.write = self.read, self.write, None, None
        for fd in (read, write):
            if fd is not None:
                with suppress(OSError):
                    os.close(fd)

    def close(self) -> None:
        self.close_file()
        for page_file in list(self.pages):
            page_file.close()
        lock, self.lock = self.lock, None
        if lock is not None:
            with suppress(OSError):
                os.close(lock)  # closing the descriptor releases its lock too


@dataclass
class _Loaded:
    """A database read from a file: tables with the journal replayed, and where it ends."""

    tables: dict[str, TableStore]
    sequence: int
    header: SnapshotHeader
    end: int
    size: int


class _FileTransaction(MemoryTransaction):
    """A transaction of a writable file engine: commits under the writer lock, caught up."""

    engine: FileEngine

    def commit(self) -> None:
        """Catch up with other processes under the writer lock, check, write the entry, apply.

        Raises:
            ConflictError: a row this transaction writes was committed by
                another transaction or process after it began.
            DatabaseConnectionError: the writer lock stayed busy for ``lock_timeout``.
        """
        engine = self.engine
        with engine.lock:
            if self.closed or not any(overlay.rows for overlay in self.overlays.values()):
                super().commit()
                return
            with engine._writing("commit changes to"):
                super().commit()
                engine._maybe_compact()


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
    """A memory engine whose tables live in one file (snapshot + journal) between runs.

    Subclasses set :attr:`name`, :attr:`snapshot_format` and
    :attr:`journal_format` and register themselves. See the module docstring
    for the file, durability, compaction, several processes and read-only use.

    Args:
        path: the database file. A missing file is a new, empty database,
            written at the first table creation, commit or flush.
        auto_flush: append and sync each commit before ``commit()`` returns
            (default). With False, commits are buffered (the writer lock is
            held meanwhile) and :meth:`flush` or :meth:`close` writes them.
        read_only: take no lock and write nothing; refuse every write with
            :class:`~pytuck.errors.ReadOnlyError`; see other processes'
            commits from each new transaction on.
        lock_timeout: seconds a write waits for another process's writer
            lock before raising (default 10).
        compact_ratio: compact once the journal is larger than this fraction
            of the snapshot (default 0.25) ...
        compact_min_bytes: ... and larger than this many bytes (default 256 KiB).

    Raises:
        ConfigurationError: no path, the path is a folder, its folder is
            missing, or an unknown or invalid option was given.
        CorruptDatabaseError: the file is not a database of this engine, is
            damaged, or was written by a newer pytuck (the file is left as it is).

    Example::

        db = Storage("app.pytuck", compact_min_bytes=16 * 2**20)
    """

    capabilities = Capabilities(persistent=True, sql=False, multi_process=True)

    #: The byte layout of this engine's snapshots.
    snapshot_format: SnapshotFormat
    #: The byte layout of this engine's journal entries.
    journal_format: JournalFormat

    def __init__(
        self,
        path: str | None = None,
        *,
        auto_flush: bool = True,
        read_only: bool = False,
        lock_timeout: float = 10.0,
        compact_ratio: float = 0.25,
        compact_min_bytes: int = 262_144,
        **options: Any,
    ) -> None:
        super().__init__(None)
        if options:
            raise ConfigurationError(
                f"the {self.name} engine takes the options auto_flush, read_only, lock_timeout, "
                f"compact_ratio and compact_min_bytes, got unknown {sorted(options)}"
            )
        if path is None:
            raise ConfigurationError(
                f"the {self.name} engine stores into a file: give Storage a file path "
                "(or use in_memory=True)"
            )
        for option, value in (
            ("lock_timeout", lock_timeout), ("compact_ratio", compact_ratio),
            ("compact_min_bytes", compact_min_bytes),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ConfigurationError(f"{option} must be a number >= 0, got {value!r}")
        self.path = os.fspath(path)
        self.location = self.path
        # Files are reached through the resolved absolute path: a later chdir
        # cannot redirect writes, and a symlinked database stays a symlink.
        self._file = os.path.realpath(self.path)
        self.auto_flush = auto_flush
        self.read_only = read_only
        self.lock_timeout = float(lock_timeout)
        self.compact_ratio = float(compact_ratio)
        self.compact_min_bytes = int(compact_min_bytes)
        self._handles = _Handles()
        self._finalizer = weakref.finalize(self, self._handles.close)
        # Where the file stands, as this engine last read it. _identity is
        # (device, inode) of the open descriptor: a new one means another
        # process compacted (renamed a new file over this one).
        self._identity: tuple[int, int] | None = None
        self._snapshot_end = 0  # where the journal starts
        self._snapshot_version = 0
        self._end = 0  # the end of the last journal entry applied
        self._file_size = 0  # the size seen at the last look (more than _end: a torn tail)
        # auto_flush=False: encoded entries of commits applied but not written yet.
        self._pending: list[bytes] = []
        self._lock_depth = 0  # nested holds of the writer lock (one more while entries are pending)
        self._holding_for_pending = False
        self._compaction_retry_at = 0  # after a failed compaction: journal size to try again at
        #: Pages and deferred tables decoded since opening (for tests and tuning).
        self.snapshot_reads = SnapshotReads()
        self._check_path()
        try:
            self._load()
            if not read_only:
                self._remove_stale_temporaries()
        except BaseException:
            self.closed = True
            self._finalizer()
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

    def _load(self) -> None:
        """Read the file, if there is one, into the engine (the tables it holds now are replaced)."""
        try:
            fd = os.open(self._file, os.O_RDONLY | _BINARY)
        except FileNotFoundError:
            return
        try:
            loaded = self._read_database(fd)
        except BaseException:
            os.close(fd)
            raise
        if self.tables:  # a reload: open transactions must still see conflicts
            _carry_versions(self.tables, loaded.tables, loaded.sequence)
        self._handles.close_file()
        self._handles.read = fd
        self.tables = loaded.tables
        self._json_columns.clear()
        self.sequence = loaded.sequence
        self._adopt(fd, loaded.header, loaded.end, loaded.size)

    def _adopt(self, fd: int, header: SnapshotHeader, end: int, size: int) -> None:
        status = os.fstat(fd)
        self._identity = (status.st_dev, status.st_ino)
        self._snapshot_end = header.end
        self._snapshot_version = header.version
        self._end = end
        self._file_size = size

    def _read_database(self, fd: int) -> _Loaded:
        """Read the snapshot (a paged one: its directory) and replay the journal of file ``fd``."""
        size = os.fstat(fd).st_size
        if not size:
            raise self._corrupt("the file is empty, so it is not a pytuck database")
        prefix = read_at(fd, 0, min(size, _HEADER_PREFIX))
        try:
            header = self.snapshot_format.read_header(prefix, size)
            tables = self._read_snapshot(fd, prefix, header)
            sequence = header.sequence
            end = header.end
            lookup = _schema_lookup(tables)
            journal = read_at(fd, header.end, size - header.end)
            for entry, entry_end in read_entries(self.journal_format, journal, header.end, sequence, lookup):
                _apply_entry(tables, entry)
                sequence = entry.sequence
                end = entry_end
        except DamagedFile as exc:
            raise self._corrupt(exc.reason, exc.offset) from None
        return _Loaded(tables, sequence, header, end, size)

    def _read_snapshot(self, fd: int, prefix: bytes, header: SnapshotHeader) -> dict[str, TableStore]:
        """The tables of the snapshot: the one place a snapshot is read.

        A whole format's tables are decoded and indexed here; a paged
        format's tables become deferred stores reading their pages from a
        descriptor of this very file (see :mod:`pytuck.engines.snapshot`).

        Raises:
            DamagedFile: the snapshot (for a paged one: its header or directory) is not intact.
        """

        def read(offset: int, size: int) -> bytes:
            if offset + size <= len(prefix):
                return prefix[offset:offset + size]
            return read_at(fd, offset, size)

        tables: dict[str, TableStore] = {}
        page_file: PageFile | None = None
        report = functools.partial(damaged_page, self.path)
        with paused_gc():
            for table in self.snapshot_format.read_tables(read, header):
                if isinstance(table, TableImage):
                    tables[table.schema.name] = load_table(table)
                    continue
                if page_file is None:
                    page_file = self._page_file(fd)
                tables[table.schema.name] = deferred_table(table, page_file, self.snapshot_reads, report)
        return tables

    def _page_file(self, fd: int) -> PageFile:
        """A descriptor of the file ``fd`` for deferred tables, closed with the engine."""
        page_file = PageFile(os.dup(fd), self.path)
        self._handles.pages.add(page_file)
        return page_file

    def _corrupt(self, reason: str, offset: int | None = None) -> CorruptDatabaseError:
        where = f" at byte {offset}" if offset is not None else ""
        return CorruptDatabaseError(
            f"{self.path} cannot be opened as a {self.name} database{where}: {reason}. "
            "The file was left untouched; restore it from a backup or open another file",
            details={"path": self.path, "offset": offset},
        )

    # --- following other processes -----------------------------------------------
    def _refresh(self) -> None:
        """Catch up with what other processes wrote since this engine last looked.

        Cheap when nothing changed (one ``stat``). Called with ``self.lock`` held.

        Raises:
            CorruptDatabaseError: the new part of the file is damaged (the
                engine keeps every entry read before the damage).
        """
        try:
            status = os.stat(self._file)
        except FileNotFoundError:
            # Not created yet, or removed while open: keep the data, and let the
            # next write create a new file from it rather than append to a
            # file no one can open any more.
            self._handles.close_file()
            self._identity = None
            return
        if self._handles.read is None:
            self._load()  # another process created the file
            return
        if (status.st_dev, status.st_ino) != self._identity:
            self._follow_replacement()
            return
        self._file_size = status.st_size
        if status.st_size != self._end:
            self._read_journal(status.st_size)

    def _read_journal(self, size: int) -> None:
        """Apply the entries between the last one applied and ``size``."""
        fd = self._handles.read
        assert fd is not None
        if size < self._end:
            raise self._corrupt(
                f"the file is now {size} bytes, shorter than the {self._end} bytes already "
                "read from it (something other than pytuck cut it)",
                size,
            )
        data = read_at(fd, self._end, size - self._end)
        try:
            for entry, end in read_entries(
                self.journal_format, data, self._end, self.sequence, _schema_lookup(self.tables)
            ):
                _apply_entry(self.tables, entry)
                if any(not isinstance(operation, RowsChanged) for operation in entry.operations):
                    self._json_columns.clear()
                self.sequence = entry.sequence
                self._end = end
        except DamagedFile as exc:
            raise self._corrupt(exc.reason, exc.offset) from None

    def _follow_replacement(self) -> None:
        """Another process compacted: finish the old file's journal, then go on in the new file.

        A compactor appends every entry before it compacts, so after reading
        the old file this engine is at the new snapshot's commit and only its
        journal needs reading; otherwise the new snapshot is decoded.
        """
        old = self._handles.read
        assert old is not None
        old_size = os.fstat(old).st_size
        if old_size != self._end:
            self._read_journal(old_size)
        try:
            fd = os.open(self._file, os.O_RDONLY | _BINARY)
        except FileNotFoundError:
            return
        try:
            size = os.fstat(fd).st_size
            try:
                header = self.snapshot_format.read_header(read_at(fd, 0, min(size, _HEADER_PREFIX)), size)
            except DamagedFile as exc:
                raise self._corrupt(exc.reason, exc.offset) from None
        except BaseException:
            os.close(fd)
            raise
        if header.sequence != self.sequence:
            os.close(fd)
            self._load()
            return
        self._handles.close_file()
        self._handles.read = fd
        self._adopt(fd, header, header.end, size)
        if size != header.end:
            self._read_journal(size)

    # --- the writer lock -------------------------------------------------------------
    def _lock_file(self) -> int:
        fd = self._handles.lock
        if fd is None:
            fd = self._handles.lock = os.open(self._file + ".lock", os.O_RDWR | os.O_CREAT | _BINARY, 0o666)
        return fd

    def _acquire_writer_lock(self, wait: bool = True) -> bool:
        """Take (or nest) the writer lock; False if ``wait`` is False and it is busy.

        Raises:
            DatabaseConnectionError: still busy after ``lock_timeout`` seconds.
        """
        if self._lock_depth == 0:
            fd = self._lock_file()
            if not filelock.lock_descriptor(fd, blocking=False):
                if not wait:
                    return False
                self._wait_for_lock(fd)
        self._lock_depth += 1
        return True

    def _wait_for_lock(self, fd: int) -> None:
        # Poll with a short, growing, jittered pause: a commit holds the lock
        # for about one fsync, so waiting longer than a few ms wastes time.
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.0002
        while not filelock.lock_descriptor(fd, blocking=False):
            if time.monotonic() >= deadline:
                raise DatabaseConnectionError(
                    f"{self.path}: another writer has held the lock {self._file}.lock for more "
                    f"than {self.lock_timeout:g} s (a storage with auto_flush=False holding "
                    "unflushed commits, or the compaction of a large database); retry, flush "
                    "that storage, or give Storage a larger lock_timeout",
                    details={"path": self.path},
                )
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.005)

    def _release_writer_lock(self) -> None:
        self._lock_depth -= 1
        if self._lock_depth == 0 and self._handles.lock is not None:
            filelock.unlock_descriptor(self._handles.lock)

    @contextmanager
    def _writing(self, action: str, table: str | None = None) -> Iterator[None]:
        """Hold the writer lock with the engine caught up with the file (``self.lock`` held).

        Raises:
            ReadOnlyError: the engine is read-only.
            TransactionError: the engine is closed.
        """
        self._check_writable(action, table)
        self._acquire_writer_lock()
        try:
            self._refresh()
            yield
        finally:
            self._release_writer_lock()

    # --- writing ------------------------------------------------------------------------
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

    def _encode_entry(self, entry: Entry) -> bytes:
        try:
            return self.journal_format.encode_entry(entry)
        except PytuckError:
            raise
        except Exception as exc:  # an encoder refusing a value: name the file
            raise SerializationError(
                f"{self.path}: a value cannot be stored by the {self.name} engine: {exc}",
                details={"path": self.path},
            ) from exc

    def _record(self, entry: Entry) -> None:
        """Write ``entry`` (auto_flush) or buffer it; called under the writer lock, before
        the entry is applied, so a failure applies nothing.

        Raises:
            SerializationError: a value cannot be stored in this format.
            OSError: the file could not be written.
        """
        data = self._encode_entry(entry)
        if self.auto_flush:
            if self._handles.read is None or self._snapshot_version < self.snapshot_format.version:
                self._write_snapshot()  # the state before this entry, which then follows it
            self._append(data)
        else:
            if not self._holding_for_pending:
                self._acquire_writer_lock()
                self._holding_for_pending = True
            self._pending.append(data)

    def _append(self, data: bytes) -> None:
        fd = self._handles.write
        if fd is None:
            fd = os.open(self._file, os.O_WRONLY | _BINARY)
            status = os.fstat(fd)
            if (status.st_dev, status.st_ino) != self._identity:  # cannot happen under the lock
                os.close(fd)
                raise DatabaseConnectionError(f"{self.path} was replaced while being written; retry")
            self._handles.write = fd
        append(fd, self._end, data, cut=self._file_size > self._end)
        self._end += len(data)
        self._file_size = self._end

    def _flush_pending(self) -> None:
        """Write the buffered entries (the writer lock is held since the first of them)."""
        if not self._pending:
            return
        if self._handles.read is None or self._snapshot_version < self.snapshot_format.version:
            self._write_snapshot()  # holds every applied commit, the buffered ones too
        else:
            self._append(b"".join(self._pending))
        self._drop_pending()

    def _drop_pending(self) -> None:
        self._pending.clear()
        if self._holding_for_pending:
            self._holding_for_pending = False
            self._release_writer_lock()

    def _write_snapshot(self) -> None:
        """Replace the file with a snapshot of the committed tables (writer lock held).

        Raises:
            CorruptDatabaseError: a page of a deferred table is damaged (nothing is written).
            SerializationError: a value cannot be stored in this format.
            OSError: the file could not be written.
        """
        images = table_images(self.tables.values(), self.snapshot_format.copies_pages)
        try:
            with paused_gc():
                data = self.snapshot_format.encode(images, self.sequence)
        except PytuckError:
            raise
        except Exception as exc:  # an encoder refusing a value: name the file
            raise SerializationError(
                f"{self.path}: a value cannot be stored by the {self.name} engine: {exc}",
                details={"path": self.path},
            ) from exc
        del images
        write_atomically(self._file, data)
        fd = os.open(self._file, os.O_RDONLY | _BINARY)
        self._handles.close_file()
        self._handles.read = fd
        header = SnapshotHeader(self.snapshot_format.version, self.sequence, len(data))
        self._adopt(fd, header, len(data), len(data))
        self._move_deferred_tables(fd, data, header)
        self._remove_stale_temporaries()

    def _move_deferred_tables(self, fd: int, data: bytes, header: SnapshotHeader) -> None:
        """Let deferred tables read their pages (just copied) from the new file, freeing the old one."""
        if any(isinstance(store.deferred, PagedRows) for store in self.tables.values()):
            read = lambda offset, size: data[offset:offset + size]  # noqa: E731
            written = self.snapshot_format.read_tables(read, header)
            move_deferred_tables(self.tables, written, self._page_file(fd))

    def _compact(self) -> None:
        """Write a fresh snapshot (writer lock held, engine caught up)."""
        if self._pending and self._handles.read is not None and (
            self._snapshot_version == self.snapshot_format.version
        ):
            # Other processes follow a compaction by reading the old file to
            # its end first: it must hold every commit the snapshot holds.
            self._append(b"".join(self._pending))
        self._write_snapshot()
        self._drop_pending()
        self._compaction_retry_at = 0

    def _maybe_compact(self) -> None:
        """Compact if the journal outgrew its threshold (after a write, writer lock held).

        The commit that got here is already durable in the journal, so a
        compaction failing for lack of space is reported as a warning, not as
        a failed commit, and retried once the journal has doubled.
        """
        if self._pending or self._handles.read is None:
            return
        journal = self._end - self._snapshot_end
        limit = max(self.compact_min_bytes, self.compact_ratio * self._snapshot_end, self._compaction_retry_at)
        if journal > limit:
            self._compact_quietly()

    def _compact_quietly(self) -> None:
        """Compact; a failure only warns, since every commit is already in the journal."""
        journal = self._end - self._snapshot_end
        try:
            self._compact()
        except (OSError, CorruptDatabaseError) as exc:  # a full disk; a damaged page not copied
            self._compaction_retry_at = 2 * journal
            warnings.warn(
                f"{self.path}: compaction failed ({exc}); the commits are safe in the journal "
                "and compaction will be tried again later",
                RuntimeWarning,
                stacklevel=3,
            )

    def _remove_stale_temporaries(self) -> None:
        # A temporary file is stale only if no compaction is running: under the lock.
        if not self._acquire_writer_lock(wait=False):
            return
        try:
            for stale in stale_temporaries(self._file):
                with suppress(OSError):
                    os.unlink(stale)
        finally:
            self._release_writer_lock()

    def persist(self, sequence: int, changes: ChangeSet) -> None:
        """Write the commit's change set to the journal (auto_flush) or buffer it.

        Called by a commit under the engine lock and the writer lock, before
        the changes are applied; if it raises, the commit fails and nothing
        is applied.

        Raises:
            ReadOnlyError: the engine is read-only.
            SerializationError: a value cannot be stored in this format.
            OSError: the file could not be written.
        """
        self._check_writable("commit changes to", changes[0][0] if changes else None)
        operations = []
        for name, rows in changes:
            store = self.tables[name]
            operations.append(RowsChanged(store.schema, store.next_id, rows))
        self._record(Entry(sequence, operations))

    def schema_changed(self) -> None:
        """Nothing to do: :meth:`ensure_table` and :meth:`drop_table` journal their change first."""

    def ensure_table(self, schema: TableSchema) -> TableSchema:
        """Create the table if missing (journaled first, like a commit); else check it.

        Raises:
            ReadOnlyError: the table is missing and the engine is read-only.
            SchemaError: the stored table disagrees with ``schema``.
        """
        with self.lock:
            if not self.closed:
                self._refresh()
            if schema.name in self.tables:
                return super().ensure_table(schema)
            with self._writing("create", schema.name):
                if schema.name not in self.tables:  # another process may have created it
                    self._record(Entry(self.sequence + 1, [TableCreated(schema)]))
                    self.sequence += 1
                stored = super().ensure_table(schema)
                self._maybe_compact()
                return stored

    def drop_table(self, name: str) -> None:
        """Remove a table and its rows (journaled first, like a commit).

        Raises:
            ReadOnlyError: the engine is read-only.
        """
        with self.lock, self._writing("drop", name):
            if name not in self.tables:
                return
            self._record(Entry(self.sequence + 1, [TableDropped(name)]))
            self.sequence += 1
            super().drop_table(name)
            self._maybe_compact()

    def table_schema(self, name: str) -> TableSchema | None:
        """The schema of table ``name`` as the file has it now, or None."""
        with self.lock:
            if not self.closed:
                self._refresh()
            return super().table_schema(name)

    def table_names(self) -> list[str]:
        """Names of the tables as the file has them now."""
        with self.lock:
            if not self.closed:
                self._refresh()
            return super().table_names()

    def begin(self) -> MemoryTransaction:
        """Start a transaction that sees every commit made before it (other processes' too).

        Raises:
            TransactionError: the engine is closed.
            CorruptDatabaseError: the journal another process appended is damaged.
        """
        with self.lock:
            if self.closed:
                return super().begin()  # raises
            self._refresh()
            if self.read_only:
                return _ReadOnlyTransaction(self)
            return _FileTransaction(self)

    def flush(self) -> None:
        """Write the buffered commits (``auto_flush=False``) and release the writer lock.

        Nothing to do with ``auto_flush=True``, or on a read-only or closed engine.

        Raises:
            OSError: the file could not be written (the commits stay buffered).
        """
        with self.lock:
            if not self._pending or self.read_only or self.closed:
                return
            with self._writing("flush"):
                self._flush_pending()
                self._maybe_compact()

    def compact(self) -> None:
        """Write a fresh snapshot of the whole database now (buffered commits included).

        Deferred tables no commit changed are copied page by page without
        being decoded (each page's checksum is checked).

        Raises:
            CorruptDatabaseError: a page of a deferred table is damaged (the
                file is left as it is).
            ReadOnlyError: the engine is read-only.
            DatabaseConnectionError: the writer lock stayed busy for ``lock_timeout``.
            OSError: the file could not be written (the database is unchanged).
        """
        with self.lock, self._writing("compact"):
            self._compact()

    def close(self) -> None:
        """Write buffered commits, compact a non-empty journal, release the file. Idempotent.

        If another process holds the writer lock at that moment (and nothing
        is buffered) the compaction is left to a later writer; a compaction
        that fails only warns (the journal holds every commit). Descriptors and
        the lock are released even if writing buffered commits fails (the
        error is raised).

        Raises:
            OSError: the buffered commits (``auto_flush=False``) could not be written.
        """
        with self.lock:
            if self.closed:
                return
            try:
                if not self.read_only:
                    self._compact_on_close()
            finally:
                self.closed = True
                self._pending.clear()
                self._lock_depth = 0
                self._holding_for_pending = False
                self._finalizer()

    def _compact_on_close(self) -> None:
        if self._pending:
            with self._writing("close"):
                self._flush_pending()  # a failure here loses commits: it is raised
                self._compact_quietly()
            return
        if self._handles.read is None or not self._acquire_writer_lock(wait=False):
            return
        try:
            self._refresh()
            if self._handles.read is not None and self._end > self._snapshot_end:
                self._compact_quietly()
        finally:
            self._release_writer_lock()


def _schema_lookup(tables: dict[str, TableStore]) -> Any:
    def schema_of(name: str) -> TableSchema | None:
        store = tables.get(name)
        return None if store is None else store.schema

    return schema_of


def _apply_entry(tables: dict[str, TableStore], entry: Entry) -> None:
    """Apply a journal entry to committed tables (one process's commit, replayed)."""
    for operation in entry.operations:
        if isinstance(operation, RowsChanged):
            store = tables[operation.schema.name]
            store.apply(operation.changes, entry.sequence)
            if operation.next_id > store.next_id:
                store.next_id = operation.next_id
        elif isinstance(operation, TableCreated):
            tables[operation.schema.name] = TableStore(operation.schema)
        else:
            tables.pop(operation.name, None)


def _carry_versions(old: dict[str, TableStore], new: dict[str, TableStore], sequence: int) -> None:
    """Stamp the rows of freshly loaded tables for conflict checks.

    After a reload, rows that differ from what this engine held count as
    written by commit ``sequence``, so transactions already open that write
    them get ConflictError; unchanged rows keep their version. Keys this
    engine assigned stay reserved. A table this engine held deferred was
    written by none of its transactions but may have been read by them, and
    comparing would mean decoding both files: every row of it counts as
    written (a transaction writing one retries, nothing is lost). A table
    held loaded is compared row by row, the new one loaded for that.
    """
    for name, store in new.items():
        before = old.get(name)
        same = before is not None and before.schema == store.schema
        if before is not None and same:
            store.next_id = max(store.next_id, before.next_id)
        if before is None or not same or before.deferred is not None:
            if isinstance(store.deferred, PagedRows):
                store.deferred.base_version = sequence
            else:
                store.load()
                versions = store.versions
                for pk in store.rows:
                    versions[pk] = sequence
            continue
        store.load()
        versions = store.versions
        old_rows = before.rows
        old_versions = before.versions
        for pk, row in store.rows.items():
            versions[pk] = old_versions.get(pk, 0) if old_rows.get(pk) == row else sequence
        for pk in old_rows.keys() - store.rows.keys():
            versions[pk] = sequence
