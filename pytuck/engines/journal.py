"""The journal of the file engines: committed change sets appended after the snapshot.

A file engine's database file is a snapshot (the whole database as of one
commit) followed by the journal: one entry per commit made since, in commit
order. An entry is a complete change set: the rows a transaction wrote or
deleted (or a table created or dropped), with the table's next integer key,
under the commit's sequence number. Each entry is framed with its length and
CRC-32 checksums of both its header and its payload, so a reader can tell a
complete entry from damage.

This module owns what is the same for every format: the entries as data
(:class:`Entry` and its operations), the rules for reading a journal
(:func:`read_entries`), and the file operations a commit needs (write at
the end of the valid journal, sync, undo on failure). A format module supplies
a :class:`JournalFormat` that turns an entry into its framed bytes and back.

Reading rules (DESIGN.md, Durability):

* Entries must follow the snapshot's sequence number without a gap.
* The last entry may be *torn*: the bytes end inside it (a process killed
  mid-write), or everything from its start to the end of the file is zero
  bytes (a file system that extended the file but lost the data on power
  loss). A torn entry was never acknowledged, so it is not part of the
  database; a writer cuts it off before appending.
* Any other damage (a complete entry whose checksum fails, bytes that are no
  entry at all, a gap in the sequence) raises :class:`DamagedFile` with the
  byte offset; the engine reports it as
  :class:`~pytuck.errors.CorruptDatabaseError` and writes nothing.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Union

from pytuck.schema import TableSchema

__all__ = [
    "DamagedFile",
    "TornEntry",
    "TableCreated",
    "TableDropped",
    "RowsChanged",
    "Operation",
    "Entry",
    "JournalFormat",
    "SchemaLookup",
    "read_entries",
    "read_at",
    "append",
    "sync",
]

Row = dict[str, Any]


class DamagedFile(Exception):
    """Raised by a format when bytes are not a database (or journal entry) it can read.

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


class TornEntry(Exception):
    """Raised by :meth:`JournalFormat.decode_entry` when the bytes end inside an entry."""


@dataclass(frozen=True)
class TableCreated:
    """An entry operation: the table ``schema`` was created (empty, next key 1)."""

    schema: TableSchema


@dataclass(frozen=True)
class TableDropped:
    """An entry operation: the table ``name`` was dropped with its rows."""

    name: str


@dataclass(frozen=True)
class RowsChanged:
    """An entry operation: rows of one table written or deleted by one commit.

    Attributes:
        schema: the table's schema (formats store rows in its column order).
        next_id: the table's next integer key after the commit (keys are
            never reused, across processes too).
        changes: ``(pk, row)`` for a row written, ``(pk, None)`` for a row
            deleted; rows in the memory engine's stored form.
    """

    schema: TableSchema
    next_id: int
    changes: Sequence[tuple[Any, Row | None]]


Operation = Union[TableCreated, TableDropped, RowsChanged]

#: Gives the schema of a table as the journal is replayed (None: no such table).
SchemaLookup = Callable[[str], Union[TableSchema, None]]


@dataclass(frozen=True)
class Entry:
    """One committed change set: its sequence number and operations, applied in order."""

    sequence: int
    operations: Sequence[Operation]


class JournalFormat(ABC):
    """A byte layout of journal entries. Implementations live beside their snapshot format."""

    @abstractmethod
    def encode_entry(self, entry: Entry) -> bytes:
        """The complete framed bytes of ``entry``.

        Raises:
            TypeError, ValueError, OverflowError: a value cannot be stored in
                this format (the engine reports it as SerializationError).
        """

    @abstractmethod
    def decode_entry(self, data: bytes, offset: int, schema_of: SchemaLookup) -> tuple[Entry, int]:
        """The entry starting at ``data[offset]`` and the offset just after it.

        Args:
            data: the bytes holding the entry (a part of the file).
            offset: where the entry starts in ``data``.
            schema_of: the schema of each table as of this entry.

        Raises:
            TornEntry: ``data`` ends inside the entry.
            DamagedFile: the bytes are not an intact entry (offsets relative to ``data``).
        """


def read_entries(
    journal_format: JournalFormat,
    data: bytes,
    base: int,
    sequence: int,
    schema_of: SchemaLookup,
) -> Iterator[tuple[Entry, int]]:
    """Yield each complete entry of ``data`` with the file offset just after it.

    The caller applies each entry before asking for the next (a later entry
    may name a table an earlier one created). Reading stops at the end of the
    data or at a torn last entry (see the module docstring).

    Args:
        journal_format: the layout of the entries.
        data: journal bytes read from the file, starting at an entry boundary.
        base: the file offset of ``data[0]`` (offsets in errors are file offsets).
        sequence: the sequence number of the state the entries follow.
        schema_of: the schema of each table as entries are applied.

    Raises:
        DamagedFile: damage other than a torn last entry, or a gap in the sequence.
    """
    offset = 0
    size = len(data)
    while offset < size:
        try:
            entry, end = journal_format.decode_entry(data, offset, schema_of)
        except TornEntry:
            return
        except DamagedFile as exc:
            if not data[offset:].strip(b"\x00"):
                return  # a zero-filled tail: torn by power loss
            where = offset if exc.offset is None else exc.offset
            raise DamagedFile(f"journal entry at byte {base + offset}: {exc.reason}", base + where) from None
        if entry.sequence != sequence + 1:
            raise DamagedFile(
                f"journal entry number {entry.sequence} follows number {sequence} "
                "(entries are missing or out of order)",
                base + offset,
            )
        sequence = entry.sequence
        offset = end
        yield entry, base + end


def read_at(fd: int, offset: int, size: int) -> bytes:
    """``size`` bytes of the file ``fd`` from ``offset`` (fewer if the file is shorter)."""
    if size <= 0:
        return b""
    pread = getattr(os, "pread", None)
    parts = []
    while size > 0:
        if pread is not None:
            chunk = pread(fd, size, offset)
        else:  # Windows: no pread; the engine lock makes the seek safe
            os.lseek(fd, offset, os.SEEK_SET)
            chunk = os.read(fd, size)
        if not chunk:
            break
        parts.append(chunk)
        offset += len(chunk)
        size -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def sync(fd: int) -> None:
    """Make the written bytes of ``fd`` durable (fdatasync where it exists: the size is
    flushed with the data, the modification time is not waited for)."""
    fdatasync = getattr(os, "fdatasync", None)
    if fdatasync is not None:
        fdatasync(fd)
    else:
        os.fsync(fd)


def append(fd: int, offset: int, data: bytes, cut: bool) -> None:
    """Write ``data`` at ``offset`` (the end of the valid journal) and sync it.

    Args:
        fd: the database file, open for writing.
        offset: where the valid journal ends.
        data: one or more framed entries.
        cut: bytes follow ``offset`` (a torn entry): cut them off first, so
            no stale byte is left after the new entries.

    If anything fails the file is cut back to ``offset``, so an entry whose
    commit raised is not replayed at the next open. (If the cut itself fails
    too, the entry may survive; the error is raised either way.)

    Raises:
        OSError: the write or the sync failed (disk full, I/O error).
    """
    try:
        if cut:
            os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        sync(fd)
    except BaseException:
        with suppress(OSError):
            os.ftruncate(fd, offset)
        raise
