"""The snapshot side of the file engines: images, formats, pages read on demand, atomic writes.

A file engine's database file starts with a *snapshot*, the whole database as
of one commit; the journal of the commits made since follows it (see
:mod:`pytuck.engines.journal`). This module owns what every snapshot format
shares:

* the data a snapshot holds (:class:`TableImage`, :class:`SnapshotHeader`) and
  the seam a format implements (:class:`SnapshotFormat`);
* **paged** snapshots, read on demand. A paged format (binary, format
  version 3) begins with a *directory*: per table its schema, its next key,
  and for every page of rows (about a thousand, in primary-key order) the
  first and last key, the page's place and length, its row count and a
  CRC-32 of its bytes. Reading the directory gives a :class:`PagedTable` per
  table; the engine keeps it as a deferred table
  (:class:`~pytuck.engines.memory.store.TableStore` with a
  :class:`PagedRows`): a lookup by key decodes only the one page whose key
  range holds it, and an operation that needs every row loads the table
  whole, once. A whole format (json, binary versions 1 and 2) gives
  :class:`TableImage` objects with every row decoded;
* the atomic replacement of the file by a new snapshot (:func:`write_atomically`).

**Damage found late.** Opening checks the header and the directory, so a
damaged one is refused at once; a page is checked (its CRC-32, then its row
count and first and last keys against the directory) when it is first read,
and a damaged page raises :class:`~pytuck.errors.CorruptDatabaseError` then,
naming the file and the page's byte offset. Nothing is ever written to the
file because of it.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import re
import secrets
import stat
import weakref
import zlib
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Protocol, Union

from pytuck.engines.journal import DamagedFile, read_at
from pytuck.engines.memory.store import TableStore
from pytuck.errors import CorruptDatabaseError, TransactionError
from pytuck.schema import TableSchema

__all__ = [
    "EncodedPage",
    "TableImage",
    "SnapshotHeader",
    "Page",
    "PagedTable",
    "SnapshotFormat",
    "SnapshotReads",
    "PageSource",
    "PageFile",
    "PagedRows",
    "Reader",
    "load_table",
    "deferred_table",
    "damaged_page",
    "table_images",
    "move_deferred_tables",
    "plain_datetime",
    "paused_gc",
    "write_atomically",
    "stale_temporaries",
]

Row = dict[str, Any]
#: Reads ``size`` bytes of the snapshot from a file offset (fewer at the end of the file).
Reader = Callable[[int, int], bytes]
#: Builds the error for damage found in a page: (reason, file offset) -> exception.
DamageReport = Callable[[str, Union[int, None]], Exception]

_BINARY = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class EncodedPage:
    """One page of a paged snapshot as bytes: what compaction copies without decoding.

    Attributes:
        first: the first primary key of the page (None in an unordered table).
        last: the last primary key of the page (None in an unordered table).
        count: the number of rows in the page.
        checksum: the CRC-32 of ``data``.
        data: the page exactly as the file holds it.
    """

    first: Any
    last: Any
    count: int
    checksum: int
    data: bytes


@dataclass(frozen=True)
class TableImage:
    """One table as a snapshot holds it.

    Attributes:
        schema: the table's schema.
        next_id: the next integer key the engine will assign (kept so keys are
            never reused across reopen).
        rows: the rows, each a dict of stored column name -> value in the form
            the memory engine keeps them (JSON documents as their encoded bytes).
        pages: instead of ``rows``, the table's pages already encoded, to be
            written as they are (only given to a format whose
            :attr:`SnapshotFormat.copies_pages` is true).
        ordered: with ``pages``: whether they hold ascending key ranges.
    """

    schema: TableSchema
    next_id: int
    rows: Collection[Row]
    pages: Sequence[EncodedPage] | None = None
    ordered: bool = True


@dataclass(frozen=True)
class SnapshotHeader:
    """What a snapshot's header says, read without decoding the snapshot.

    Attributes:
        version: the format version the snapshot was written in.
        sequence: the number of the last commit the snapshot holds.
        end: the file offset where the snapshot ends and the journal begins.
    """

    version: int
    sequence: int
    end: int


@dataclass(frozen=True)
class Page:
    """Where one page of a table lies in a paged snapshot, as its directory says.

    Attributes:
        first: the page's first (smallest) primary key; None in an unordered table.
        last: the page's last (largest) primary key; None in an unordered table.
        offset: the file offset of the page's first byte.
        length: the page's length in bytes.
        checksum: the CRC-32 of the page's bytes.
        count: the number of rows in the page.
    """

    first: Any
    last: Any
    offset: int
    length: int
    checksum: int
    count: int


@dataclass(frozen=True)
class PagedTable:
    """A table of a paged snapshot, known from the directory only (no row decoded).

    Attributes:
        schema: the table's schema.
        next_id: the next integer key the engine will assign.
        pages: the table's pages, contiguous in the file, in key order when ``ordered``.
        ordered: the pages hold ascending, disjoint key ranges (false when the
            keys could not be ordered, e.g. naive and aware datetimes mixed):
            then a lookup by key reads every page.
        decode_page: the rows of one page's bytes, in the memory engine's form.
            Raises :class:`DamagedFile` (or any exception) for bytes that do
            not decode.
    """

    schema: TableSchema
    next_id: int
    pages: Sequence[Page]
    ordered: bool
    decode_page: Callable[[bytes | memoryview], list[Row]]


class SnapshotFormat(ABC):
    """A byte layout of a whole database as of one commit: header, schemas and rows.

    Implementations must detect any damage (wrong magic, truncation, changed
    bytes, a newer format version) and raise :class:`DamagedFile` for it,
    never return partial data. The journal follows the snapshot in the same
    file, so a snapshot knows where it ends.
    """

    #: Short name used in messages ("binary", "json").
    name: str = ""
    #: The format version this layout writes (and the newest it reads).
    version: int = 0
    #: Whether :meth:`encode` takes tables as pages (:attr:`TableImage.pages`)
    #: and :meth:`read_tables` may return :class:`PagedTable` objects.
    copies_pages: bool = False

    @abstractmethod
    def encode(self, tables: Sequence[TableImage], sequence: int) -> bytes:
        """The complete snapshot holding ``tables`` as of commit number ``sequence``.

        Raises:
            SerializationError: a value cannot be stored in this format.
        """

    @abstractmethod
    def read_header(self, data: bytes, size: int) -> SnapshotHeader:
        """The header of the snapshot starting the file.

        Args:
            data: the start of the file (at least its first 64 KiB, or all of it).
            size: the size of the whole file.

        Raises:
            DamagedFile: not a snapshot of this format, a newer version, a
                damaged header, or a file shorter than the header announces.
        """

    @abstractmethod
    def read_tables(self, read: Reader, header: SnapshotHeader) -> list[TableImage | PagedTable]:
        """The tables of the snapshot: decoded whole, or (a paged format) as their directory.

        Args:
            read: reads bytes of the file by offset and length.
            header: the snapshot's header, from :meth:`read_header`.

        Raises:
            DamagedFile: the snapshot (for a paged one: its directory) is not intact.
        """


@dataclass
class SnapshotReads:
    """What an engine has decoded of paged snapshots since it opened: for tests and tuning.

    Attributes:
        pages: pages decoded (by lookups, loads and compaction checks alike).
        tables: deferred tables loaded whole.
    """

    pages: int = 0
    tables: int = 0


class PageSource(Protocol):
    """Where the pages of a deferred table are read from."""

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` (fewer at the end of the file)."""


def _close_quietly(fd: int) -> None:
    with suppress(OSError):
        os.close(fd)


class PageFile:
    """A descriptor of one snapshot file, kept open while its pages may still be read.

    Pages of a snapshot never change in place: compaction writes a new file
    and renames it over the old one, and an open descriptor keeps reading
    the old file's bytes (POSIX keeps a renamed-over file while it is open).
    So a deferred table stays readable after another process compacted. The
    descriptor is closed when no deferred table needs it any more (the
    object is collected) or when the engine closes.

    Args:
        fd: a descriptor of the file, opened for reading; the object owns it.
        path: the database path, for messages.
    """

    def __init__(self, fd: int, path: str) -> None:
        self.path = path
        self._fd = fd
        self._finalizer = weakref.finalize(self, _close_quietly, fd)

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` (fewer at the end of the file).

        Raises:
            TransactionError: the storage was closed.
        """
        if not self._finalizer.alive:
            raise TransactionError(f"{self.path} is closed; open a new Storage to read it")
        return read_at(self._fd, offset, size)

    def close(self) -> None:
        """Close the descriptor (idempotent); later reads raise TransactionError."""
        self._finalizer()


class PagedRows:
    """The committed rows of one table still in a paged snapshot: a deferred table's rows.

    Implements :class:`~pytuck.engines.memory.store.DeferredRows`. A lookup by
    key decodes the one page whose key range can hold it (pages once decoded
    are kept); :meth:`load_into` decodes the pages not read yet and hands the
    whole table to its store. Journal entries replayed while the table is
    deferred are kept on top (:meth:`note`) and win over the pages.

    Not thread-safe by itself: the engine calls it under its lock.

    Args:
        table: the table as the directory describes it.
        source: where its pages are read from.
        reads: the engine's counters, updated as pages are decoded.
        damaged: builds the error for a damaged page (reason, byte offset).
    """

    def __init__(
        self, table: PagedTable, source: PageSource, reads: SnapshotReads, damaged: DamageReport
    ) -> None:
        self.table = table
        self.source = source
        self.reads = reads
        self.damaged = damaged
        self.key = table.schema.primary_key
        #: The row of every key changed by commits replayed since the snapshot
        #: (None: deleted), and the commit that last changed it (its version).
        self._changed: dict[Any, Row | None] = {}
        self._versions: dict[Any, int] = {}
        #: A reload stamped every row as written by this commit (see FileEngine).
        self.base_version = 0
        self._firsts = [page.first for page in table.pages]
        self._decoded: dict[int, dict[Any, Row]] = {}
        self._whole_table: dict[Any, Row] | None = None

    @property
    def untouched(self) -> bool:
        """True when no commit changed the table since the snapshot: its pages are the table."""
        return not self._changed

    # --- lookups -------------------------------------------------------------------
    def row(self, pk: Any) -> Row | None:
        """The committed row with key ``pk``, or None; decodes at most one page.

        Raises:
            TypeError: ``pk`` is unhashable.
            CorruptDatabaseError: the page holding the key is damaged.
        """
        changed = self._changed
        if pk in changed:
            return changed[pk]
        if self._whole_table is not None:
            return self._whole_table.get(pk)
        pages = self.table.pages
        if not self.table.ordered:
            return self._whole().get(pk)
        try:
            index = bisect_right(self._firsts, pk) - 1
            if index < 0 or pk > pages[index].last:
                return None
        except TypeError:  # a key that does not compare with the stored ones
            return self._whole().get(pk)
        return self._page(index).get(pk)

    def _page(self, index: int) -> dict[Any, Row]:
        found = self._decoded.get(index)
        if found is None:
            rows = self._decode(index)
            found = dict(zip(map(itemgetter(self.key), rows), rows))
            if len(found) != len(rows):
                page = self.table.pages[index]
                raise self.damaged(f"{self._describe(index)} holds two rows with the same key", page.offset)
            self._decoded[index] = found
        return found

    def _describe(self, index: int) -> str:
        return f"page {index + 1} of {len(self.table.pages)} of table {self.table.schema.name!r}"

    def _decode(self, index: int) -> list[Row]:
        """The checked rows of page ``index``, read from the file."""
        page = self.table.pages[index]
        data = self.source.read(page.offset, page.length)
        return self._decode_bytes(index, data)

    def _decode_bytes(self, index: int, data: bytes | memoryview) -> list[Row]:
        page = self.table.pages[index]
        where = self._describe(index)
        if len(data) != page.length:
            raise self.damaged(f"the file ends inside {where}", page.offset + len(data))
        if zlib.crc32(data) != page.checksum:
            raise self.damaged(f"{where} does not match its checksum (changed bytes)", page.offset)
        try:
            rows = self.table.decode_page(data)
        except DamagedFile as exc:
            raise self.damaged(f"{where}: {exc.reason}", page.offset) from None
        except Exception as exc:
            raise self.damaged(f"{where} does not decode ({exc})", page.offset) from None
        key = self.key
        if len(rows) != page.count:
            raise self.damaged(
                f"{where} holds {len(rows)} rows, its directory entry says {page.count}", page.offset
            )
        if self.table.ordered and rows and (rows[0][key] != page.first or rows[-1][key] != page.last):
            raise self.damaged(f"the keys of {where} disagree with its directory entry", page.offset)
        self.reads.pages += 1
        return rows

    def _whole(self) -> dict[Any, Row]:
        """Every row of the pages (not the journal's changes), decoding the pages not read yet."""
        if self._whole_table is not None:
            return self._whole_table
        pages = self.table.pages
        getter = itemgetter(self.key)
        rows: dict[Any, Row] = {}
        with paused_gc():
            missing = [index for index in range(len(pages)) if index not in self._decoded]
            data = b""
            start = 0
            if missing:  # one read for the pages still to decode (they are contiguous)
                start = pages[missing[0]].offset
                last = pages[missing[-1]]
                data = self.source.read(start, last.offset + last.length - start)
            view = memoryview(data)
            for index, page in enumerate(pages):
                decoded = self._decoded.get(index)
                if decoded is not None:
                    rows.update(decoded)
                    continue
                begin = page.offset - start
                part = self._decode_bytes(index, view[begin:begin + page.length])
                rows.update(zip(map(getter, part), part))
        if len(rows) != sum(page.count for page in pages):
            raise self.damaged(
                f"table {self.table.schema.name!r} holds two rows with the same key",
                pages[0].offset if pages else None,
            )
        self._decoded = {}
        self._whole_table = rows
        return rows

    def all_rows(self) -> list[Row]:
        """Every row of the pages, decoded and checked (the journal's changes not included).

        Raises:
            CorruptDatabaseError: a page is damaged.
        """
        return list(self._whole().values())

    # --- journal and loading ----------------------------------------------------------
    def note(self, changes: Iterable[tuple[Any, Row | None]], sequence: int) -> None:
        """Keep a replayed commit's changes on top of the pages (``(pk, None)``: deleted)."""
        changed = self._changed
        versions = self._versions
        for pk, row in changes:
            changed[pk] = row
            versions[pk] = sequence

    def load_into(self, store: TableStore) -> None:
        """Give ``store`` every committed row (pages, then journal changes) with versions.

        Raises:
            CorruptDatabaseError: a page is damaged, or a value cannot be indexed
                (the store is left deferred).
        """
        rows = self._whole()
        self._whole_table = None  # handed over below; decoded again if that fails
        for pk, row in self._changed.items():
            if row is None:
                rows.pop(pk, None)
            else:
                rows[pk] = row
        versions = dict(self._versions)
        base = self.base_version
        if base:
            versions.update((pk, base) for pk in rows if versions.get(pk, 0) < base)
        try:
            with paused_gc():
                store.adopt(rows, versions)
        except (KeyError, TypeError) as exc:
            pages = self.table.pages
            raise self.damaged(
                f"table {self.table.schema.name!r} holds values its indexes cannot hold ({exc})",
                pages[0].offset if pages else None,
            ) from None
        self.reads.tables += 1

    # --- compaction -------------------------------------------------------------------
    def encoded_pages(self) -> list[EncodedPage]:
        """The table's pages as bytes, each checked against its checksum, to copy as they are.

        Raises:
            CorruptDatabaseError: a page is damaged (so no new snapshot copies it).
        """
        pages = self.table.pages
        if not pages:
            return []
        start = pages[0].offset
        end = pages[-1].offset + pages[-1].length
        view = memoryview(self.source.read(start, end - start))
        copies = []
        for index, page in enumerate(pages):
            data = bytes(view[page.offset - start:page.offset - start + page.length])
            if len(data) != page.length:
                raise self.damaged(f"the file ends inside {self._describe(index)}", page.offset + len(data))
            if zlib.crc32(data) != page.checksum:
                raise self.damaged(
                    f"{self._describe(index)} does not match its checksum (changed bytes)", page.offset
                )
            copies.append(EncodedPage(page.first, page.last, page.count, page.checksum, data))
        return copies

    def move(self, table: PagedTable, source: PageSource) -> None:
        """Read the same pages from another snapshot (one holding them copied, as compaction does).

        Pages already decoded stay decoded: they are the same rows.
        """
        if [page.checksum for page in table.pages] != [page.checksum for page in self.table.pages]:
            return  # not the same pages: keep reading the old file
        self.table = table
        self.source = source


def load_table(image: TableImage) -> TableStore:
    """A committed table store from a decoded image, indexes built.

    Rows are adopted as they are and each index is rebuilt with one sort,
    which is much cheaper for a large file than inserting row by row.

    Raises:
        DamagedFile: duplicate or missing keys, an invalid next key, or values
            an index cannot hold.
    """
    store = TableStore(image.schema)
    key = store.primary_key
    try:
        rows = {row[key]: row for row in image.rows}
    except (KeyError, TypeError) as exc:
        raise DamagedFile(f"table {image.schema.name!r} holds a row without a usable key ({exc})") from None
    if len(rows) != len(image.rows):
        raise DamagedFile(f"table {image.schema.name!r} holds two rows with the same key")
    store.next_id = _next_id(image.schema, image.next_id)
    try:
        store.adopt(rows, {})
    except (KeyError, TypeError) as exc:
        raise DamagedFile(
            f"table {image.schema.name!r} holds values its indexes cannot hold ({exc})"
        ) from None
    return store


def deferred_table(
    table: PagedTable, source: PageSource, reads: SnapshotReads, damaged: DamageReport
) -> TableStore:
    """A deferred store of a paged table: its rows stay in the file until needed.

    An empty table gets a plain store (nothing to defer).

    Raises:
        DamagedFile: an invalid next key.
    """
    deferred = PagedRows(table, source, reads, damaged) if table.pages else None
    store = TableStore(table.schema, deferred)
    store.next_id = _next_id(table.schema, table.next_id)
    return store


def _next_id(schema: TableSchema, next_id: Any) -> int:
    if not isinstance(next_id, int) or isinstance(next_id, bool):
        raise DamagedFile(f"table {schema.name!r} has an invalid next key {next_id!r}")
    return max(next_id, 1)


def damaged_page(path: str, reason: str, offset: int | None) -> Exception:
    """The error for damage found in a page of the database ``path`` after it opened.

    Returns a :class:`~pytuck.errors.CorruptDatabaseError` naming the file and offset.
    """
    where = f" at byte {offset}" if offset is not None else ""
    return CorruptDatabaseError(
        f"{path} is damaged{where}: {reason}. Pages are checked when first read, so the "
        "file opened; it was left untouched: restore it from a backup or open another file",
        details={"path": path, "offset": offset},
    )


def table_images(stores: Iterable[TableStore], copy_pages: bool) -> list[TableImage]:
    """Every committed table, as a new snapshot is encoded from.

    A deferred table no commit changed is handed over as its pages (when
    ``copy_pages``: the format writes them as they are, without decoding),
    each checked against its checksum first; any other deferred table is
    loaded.

    Raises:
        CorruptDatabaseError: a page of a deferred table is damaged.
    """
    images = []
    for store in stores:
        deferred = store.deferred
        if copy_pages and isinstance(deferred, PagedRows) and deferred.untouched:
            pages = deferred.encoded_pages()
            images.append(TableImage(store.schema, store.next_id, (), pages, deferred.table.ordered))
            continue
        store.load()
        images.append(TableImage(store.schema, store.next_id, store.rows.values()))
    return images


def move_deferred_tables(
    stores: dict[str, TableStore], written: Iterable[TableImage | PagedTable], source: PageSource
) -> None:
    """Point the deferred tables at the pages a new snapshot copied (``written``, from ``source``)."""
    for table in written:
        store = stores.get(table.schema.name)
        if store is not None and isinstance(store.deferred, PagedRows) and isinstance(table, PagedTable):
            store.deferred.move(table, source)


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
    """Pause the cyclic garbage collector while a whole table or database is encoded or decoded.

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
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, mode)
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


def stale_temporaries(path: str) -> list[str]:
    """Temporary files a crashed writer left next to ``path`` (see :func:`write_atomically`)."""
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    pattern = re.compile(re.escape(base) + r"\.[0-9a-f]{16}\.tmp")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, name) for name in names if pattern.fullmatch(name)]
