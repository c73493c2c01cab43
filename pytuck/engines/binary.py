"""The ``binary`` engine (alias ``"pytuck"``): the memory engine persisted as msgpack.

The default engine of ``Storage("data.pytuck")``. Persistence, locking and
read-only behaviour are those of :mod:`pytuck.engines.file`; this module owns
the byte layout.

File layout, format version 3 (integers big-endian): a paged snapshot, then
the journal, one entry per commit since the snapshot::

    snapshot header
    offset  size  field
    0       8     magic b"PYTUCK\x1a\x00"
    8       2     format version (3)
    10      2     flags (0)
    12      8     directory length in bytes
    20      4     CRC-32 of the directory (zlib.crc32)
    24      8     sequence number of the last commit the snapshot holds
    32      8     snapshot length in bytes (header, directory and pages): where the journal starts
    40      4     CRC-32 of bytes 0-39
    44      ...   directory: one msgpack map
    ...     ...   pages, one after the other, each one msgpack array of rows

    journal entry (repeated until the end of the file)
    0       4     marker b"PTJE"
    4       8     sequence number of the commit (the previous one's + 1)
    12      8     payload length in bytes
    20      4     CRC-32 of the payload
    24      4     CRC-32 of bytes 0-23
    28      ...   payload: one msgpack array of operations

The directory is ``{"tables": [{"schema": TableSchema.to_dict(), "next_id":
int, "ordered": bool, "pages": [[first key, last key, offset, length,
CRC-32, row count], ...]}, ...]}``; a page's offset counts from the end of
the directory, and the pages of all tables follow each other without a gap.
A table's rows are sorted by primary key and cut into pages of
:data:`PAGE_ROWS` rows (fewer where a page would pass :data:`PAGE_BYTES`), so
the directory tells which single page can hold a key; ``ordered`` is false
(and the keys are nil) when the keys cannot be sorted (naive and aware
datetimes mixed). Each row lists its values in the order of the schema's
columns (column names are stored once, in the schema). An entry's operations
are ``["rows", table, next_id, [row, ...], [deleted key, ...]]`` (rows
written and deleted by the commit, rows as in the pages), ``["create",
TableSchema.to_dict()]`` and ``["drop", table]``.

Opening reads the header and the directory, not the pages; see
:mod:`pytuck.engines.snapshot` for pages decoded on demand and damage found
when a page is first read.

Older versions are still read, decoded whole at opening; the first write to
such a file rewrites it in version 3. Version 2 had a 36-byte header (magic,
version, flags, payload length, payload CRC-32, sequence number, header
CRC-32) and one msgpack payload ``{"tables": [{"schema": ..., "next_id": int,
"rows": [[value, ...], ...]}, ...]}``, followed by the same journal; version
1 (a development version of pytuck 2.0) had the first 24 bytes of that
header only and no journal.

Values: int, float, str, bool, None and bytes are msgpack's own. A JSON
document (a list/dict column) is stored as a bin holding its msgpack encoding
(``msgpack.packb(document)``). The memory engine keeps documents in that very
form today, so saving and loading copy the bytes without converting them; if
the engine's form changes, this module converts and the file format stays the
same. Aware datetimes use msgpack's Timestamp extension (-1), which
msgpack encodes and decodes in C; they come back aware, in UTC. The other
types use extension codes:

====  ===============  ==========================================
code  type             data
====  ===============  ==========================================
1     naive datetime   ISO 8601 text (``datetime.isoformat()``)
2     date             ISO 8601 text
3     time             ISO 8601 text
4     timedelta        days, seconds, microseconds as 3 x int32
5     Decimal          ``str(value)`` (exact, exponent kept)
6     UUID             the 16 bytes
====  ===============  ==========================================
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
import zlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

import msgpack

from pytuck.engines.base import register_engine
from pytuck.engines.file import FileEngine
from pytuck.engines.journal import (
    DamagedFile,
    Entry,
    JournalFormat,
    Operation,
    RowsChanged,
    SchemaLookup,
    TableCreated,
    TableDropped,
    TornEntry,
)
from pytuck.engines.memory.engine import decode_document, encode_document
from pytuck.engines.snapshot import (
    EncodedPage,
    Page,
    PagedRows,
    PagedTable,
    Reader,
    SnapshotFormat,
    SnapshotHeader,
    SnapshotReads,
    TableImage,
    plain_datetime,
)
from pytuck.schema import TableSchema
from pytuck.types import is_json_type

__all__ = [
    "BinaryEngine", "BinaryFormat", "BinaryJournal", "MAGIC", "FORMAT_VERSION", "PAGE_ROWS", "PAGE_BYTES",
]

#: The first bytes of every binary pytuck database.
MAGIC = b"PYTUCK\x1a\x00"
#: The format version this module writes and the newest it reads.
FORMAT_VERSION = 3
#: Rows per page of a version 3 snapshot.
PAGE_ROWS = 1000
#: A page holding more bytes than this is cut in two (tables of large rows).
PAGE_BYTES = 1 << 20

_HEADER_V1 = struct.Struct(">8sHHQI")
_HEADER_V2 = struct.Struct(">8sHHQIQ")
_HEADER = struct.Struct(">8sHHQIQQ")
_CRC = struct.Struct(">I")
_ENTRY = struct.Struct(">4sQQI")
_ENTRY_MARK = b"PTJE"
_TIMEDELTA = struct.Struct(">iii")

_NAIVE_DATETIME = 1
_DATE = 2
_TIME = 3
_TIMEDELTA_CODE = 4
_DECIMAL = 5
_UUID = 6


def _encode_extension(value: Any) -> Any:
    """msgpack's ``default`` hook: the extension form of a non-msgpack value."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return msgpack.ExtType(_NAIVE_DATETIME, plain_datetime(value).isoformat().encode())
        if value.utcoffset() is not None:
            # Returned as an exact aware datetime, it packs as a Timestamp, in C.
            return plain_datetime(value.astimezone(dt.timezone.utc))
        return msgpack.ExtType(
            _NAIVE_DATETIME, plain_datetime(value).replace(tzinfo=None).isoformat().encode()
        )
    if isinstance(value, dt.date):
        return msgpack.ExtType(_DATE, value.isoformat().encode())
    if isinstance(value, dt.time):
        return msgpack.ExtType(_TIME, value.isoformat().encode())
    if isinstance(value, dt.timedelta):
        return msgpack.ExtType(
            _TIMEDELTA_CODE, _TIMEDELTA.pack(value.days, value.seconds, value.microseconds)
        )
    if isinstance(value, Decimal):
        return msgpack.ExtType(_DECIMAL, str(value).encode())
    if isinstance(value, uuid.UUID):
        return msgpack.ExtType(_UUID, value.bytes)
    raise TypeError(f"{value!r} ({type(value).__name__}) is not a storable value")


def _decode_timedelta(data: bytes) -> dt.timedelta:
    days, seconds, microseconds = _TIMEDELTA.unpack(data)
    return dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)


_EXTENSION_DECODERS: dict[int, Callable[[bytes], Any]] = {
    _NAIVE_DATETIME: lambda data: dt.datetime.fromisoformat(data.decode()),
    _DATE: lambda data: dt.date.fromisoformat(data.decode()),
    _TIME: lambda data: dt.time.fromisoformat(data.decode()),
    _TIMEDELTA_CODE: _decode_timedelta,
    _DECIMAL: lambda data: Decimal(data.decode()),
    _UUID: lambda data: uuid.UUID(bytes=data),
}


def _decode_extension(code: int, data: bytes) -> Any:
    """msgpack's ``ext_hook``: the value of an extension record."""
    decoder = _EXTENSION_DECODERS.get(code)
    if decoder is None:
        raise ValueError(f"unknown extension type {code}")
    return decoder(data)


def _documents_are_msgpack() -> bool:
    """True when the memory engine keeps documents as exactly the bytes this format stores."""
    probe = {"list": [1, -2, 2.5, "text", None, True, {"nested": []}], "": {}}
    try:
        packed = msgpack.packb(probe)
        return bool(encode_document(probe) == packed and decode_document(packed) == probe)
    except Exception:  # any surprise means: convert
        return False


#: Whether document cells can be copied between memory and file as they are.
_COPY_DOCUMENTS = _documents_are_msgpack()


def _row_encoder(schema: TableSchema) -> Callable[[dict[str, Any]], Sequence[Any]]:
    """A function giving the values of a stored row in column order, as the file holds them."""
    names = schema.column_names
    if len(names) == 1:
        only = names[0]
        getter: Callable[[dict[str, Any]], Sequence[Any]] = lambda row: (row[only],)  # noqa: E731
    else:
        getter = itemgetter(*names)
    positions = _document_positions(schema)
    if not positions or _COPY_DOCUMENTS:
        return getter

    def convert(row: dict[str, Any]) -> Sequence[Any]:
        values = list(getter(row))
        for i in positions:
            if values[i] is not None:
                values[i] = msgpack.packb(decode_document(values[i]))
        return values

    return convert


def _document_positions(schema: TableSchema) -> list[int]:
    return [i for i, column in enumerate(schema.columns) if is_json_type(column.type)]


def _rows_from_file(schema: TableSchema, raw_rows: list[Any]) -> list[dict[str, Any]]:
    """Rows as the memory engine keeps them, from their value lists in the file."""
    names = schema.column_names
    positions = _document_positions(schema)
    if positions and not _COPY_DOCUMENTS:
        for row in raw_rows:
            for i in positions:
                if row[i] is not None:
                    row[i] = encode_document(msgpack.unpackb(row[i]))
    try:
        return [dict(zip(names, row, strict=True)) for row in raw_rows]
    except (ValueError, TypeError):
        raise DamagedFile(
            f"table {schema.name!r} holds a row that is not a list of its {len(names)} columns"
        ) from None


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True, datetime=True, default=_encode_extension)
    return packed


def _unpack(data: bytes | memoryview) -> Any:
    return msgpack.unpackb(data, raw=False, timestamp=3, ext_hook=_decode_extension, strict_map_key=True)


class _Header(NamedTuple):
    version: int
    size: int  # bytes of the header itself
    length: int  # payload (versions 1, 2) or directory (version 3) length
    checksum: int  # CRC-32 of the payload or directory
    sequence: int
    end: int  # where the snapshot ends


def _parse_header(data: bytes) -> _Header:
    """The fields of a snapshot header at the start of ``data``."""
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data[: len(MAGIC)]):
            raise DamagedFile("the file is truncated inside its header", len(data))
        raise DamagedFile("it is not a pytuck binary database (wrong magic bytes)", 0)
    if len(data) < len(MAGIC) + 2:
        raise DamagedFile("the file is truncated inside its header", len(data))
    (version,) = struct.unpack_from(">H", data, len(MAGIC))
    if version > FORMAT_VERSION:
        raise DamagedFile(
            f"it was written in format version {version} by a newer pytuck; this one "
            f"reads up to version {FORMAT_VERSION}: upgrade pytuck to open it",
            8,
        )
    if version < 1:
        raise DamagedFile(f"format version {version} does not exist", 8)
    if version == 1:
        if len(data) < _HEADER_V1.size:
            raise DamagedFile("the file is truncated inside its header", len(data))
        _, _, flags, length, checksum = _HEADER_V1.unpack_from(data)
        size, sequence = _HEADER_V1.size, 0
        end = size + length
    else:
        layout = _HEADER_V2 if version == 2 else _HEADER
        size = layout.size + _CRC.size
        if len(data) < size:
            raise DamagedFile("the file is truncated inside its header", len(data))
        (header_checksum,) = _CRC.unpack_from(data, layout.size)
        if zlib.crc32(memoryview(data)[: layout.size]) != header_checksum:
            raise DamagedFile("the header checksum does not match (changed bytes)", 0)
        if version == 2:
            _, _, flags, length, checksum, sequence = _HEADER_V2.unpack_from(data)
            end = size + length
        else:
            _, _, flags, length, checksum, sequence, end = _HEADER.unpack_from(data)
            if end < size + length:
                raise DamagedFile(f"the header announces a snapshot of {end} bytes, too short", 0)
    if flags:
        raise DamagedFile(f"unknown header flags {flags:#06x} for format version {version}", 10)
    return _Header(version, size, length, checksum, sequence, end)


def _encode_pages(image: TableImage) -> tuple[list[EncodedPage], bool]:
    """The rows of ``image`` as pages in key order, and whether the keys could be ordered."""
    schema = image.schema
    key = itemgetter(schema.primary_key)
    encode_row = _row_encoder(schema)
    rows = list(image.rows)
    try:
        rows.sort(key=key)
        ordered = True
    except TypeError:  # keys that do not compare (naive and aware datetimes mixed)
        ordered = False

    def pages_of(chunk: list[dict[str, Any]]) -> list[EncodedPage]:
        data = _pack(list(map(encode_row, chunk)))
        if len(data) > PAGE_BYTES and len(chunk) > 1:  # big rows: smaller pages
            half = len(chunk) // 2
            return pages_of(chunk[:half]) + pages_of(chunk[half:])
        first, last = (key(chunk[0]), key(chunk[-1])) if ordered else (None, None)
        return [EncodedPage(first, last, len(chunk), zlib.crc32(data), data)]

    pages: list[EncodedPage] = []
    for start in range(0, len(rows), PAGE_ROWS):
        pages.extend(pages_of(rows[start:start + PAGE_ROWS]))
    return pages, ordered


class BinaryFormat(SnapshotFormat):
    """The msgpack snapshot layout described in the module docstring (paged, version 3)."""

    name = "binary"
    version = FORMAT_VERSION
    copies_pages = True

    def encode(self, tables: Sequence[TableImage], sequence: int) -> bytes:
        """The complete snapshot holding ``tables`` as of commit number ``sequence``.

        Tables given as pages (:attr:`TableImage.pages`) are copied as they are.
        """
        entries = []
        chunks: list[bytes] = []
        position = 0
        for image in tables:
            if image.pages is not None:
                pages, ordered = list(image.pages), image.ordered
            else:
                pages, ordered = _encode_pages(image)
            listed = []
            for page in pages:
                listed.append([page.first, page.last, position, len(page.data), page.checksum, page.count])
                chunks.append(page.data)
                position += len(page.data)
            entries.append({
                "schema": image.schema.to_dict(),
                "next_id": image.next_id,
                "ordered": ordered,
                "pages": listed,
            })
        directory = _pack({"tables": entries})
        size = _HEADER.size + _CRC.size
        end = size + len(directory) + position
        header = _HEADER.pack(
            MAGIC, FORMAT_VERSION, 0, len(directory), zlib.crc32(directory), sequence, end
        )
        return b"".join([header, _CRC.pack(zlib.crc32(header)), directory, *chunks])

    def read_header(self, data: bytes, size: int) -> SnapshotHeader:
        """The header of the snapshot starting ``data`` (of a file of ``size`` bytes).

        Raises:
            DamagedFile: wrong magic, newer version, damaged header, or a
                file shorter than the header announces.
        """
        header = _parse_header(data)
        if size < header.end:
            raise DamagedFile(
                f"the file is truncated: the header announces {header.end} bytes, the file has {size}",
                size,
            )
        if header.version == 1 and size > header.end:
            raise DamagedFile(f"{size - header.end} unexpected bytes follow a format 1 snapshot", header.end)
        return SnapshotHeader(header.version, header.sequence, header.end)

    def read_tables(self, read: Reader, header: SnapshotHeader) -> list[TableImage | PagedTable]:
        """Version 3: the directory only (pages are read on demand); older: every row.

        Raises:
            DamagedFile: a damaged directory (version 3) or snapshot (versions 1, 2).
        """
        if header.version < 3:
            return list(self.decode(read(0, header.end), header))
        parsed = _parse_header(read(0, _HEADER.size + _CRC.size))
        directory = read(parsed.size, parsed.length)
        if len(directory) != parsed.length:
            raise DamagedFile("the file is truncated inside the directory", parsed.size + len(directory))
        if zlib.crc32(directory) != parsed.checksum:
            raise DamagedFile("the directory checksum does not match (changed bytes)", parsed.size)
        pages_start = parsed.size + parsed.length
        try:
            document = _unpack(directory)
            tables = [_paged_table(entry, pages_start) for entry in document["tables"]]
        except DamagedFile as exc:
            raise DamagedFile(f"the directory is not valid: {exc.reason}", parsed.size) from None
        except Exception as exc:
            raise DamagedFile(f"the directory does not decode ({exc})", parsed.size) from None
        position = pages_start
        for table in tables:
            for page in table.pages:
                if page.offset != position:
                    raise DamagedFile("the directory lists pages that do not follow each other", parsed.size)
                position += page.length
        if position != parsed.end:
            raise DamagedFile(
                f"the directory lists pages up to byte {position}, the snapshot ends at {parsed.end}",
                parsed.size,
            )
        return list(tables)

    def decode(self, data: bytes, header: SnapshotHeader) -> list[TableImage]:
        """Every table of the snapshot at the start of ``data``, all rows decoded.

        Raises:
            DamagedFile: checksum mismatch, or a payload that does not decode.
        """
        if header.version >= 3:
            return [self._decode_paged(table, data) for table in self.read_tables(
                lambda offset, size: data[offset:offset + size], header
            ) if isinstance(table, PagedTable)]
        parsed = _parse_header(data)
        payload = memoryview(data)[parsed.size:parsed.size + parsed.length]
        if zlib.crc32(payload) != parsed.checksum:
            raise DamagedFile("the snapshot checksum does not match (changed bytes)", parsed.size)
        try:
            document = _unpack(payload)
            return [_table_image(entry) for entry in document["tables"]]
        except DamagedFile:
            raise
        except Exception as exc:
            raise DamagedFile(f"the snapshot does not decode ({exc})", parsed.size) from None

    @staticmethod
    def _decode_paged(table: PagedTable, data: bytes) -> TableImage:
        source = _BytesSource(data)
        rows = PagedRows(table, source, SnapshotReads(), DamagedFile).all_rows()
        return TableImage(table.schema, table.next_id, rows)


class _BytesSource:
    """Pages read from bytes in memory (a whole snapshot already read)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, offset: int, size: int) -> bytes:
        return self.data[offset:offset + size]


def _is_int(value: Any) -> bool:
    return type(value) is int


def _paged_table(entry: dict[str, Any], pages_start: int) -> PagedTable:
    """A table of a version 3 directory, its entry checked."""
    schema = TableSchema.from_dict(entry["schema"])
    next_id = entry["next_id"]
    ordered = entry["ordered"]
    if not _is_int(next_id):
        raise DamagedFile(f"table {schema.name!r} has an invalid next key {next_id!r}")
    if type(ordered) is not bool:
        raise DamagedFile(f"table {schema.name!r} has an invalid page order flag {ordered!r}")
    pages = []
    for first, last, offset, length, checksum, count in entry["pages"]:
        if not all(map(_is_int, (offset, length, checksum, count))) or length <= 0 or count <= 0:
            raise DamagedFile(f"table {schema.name!r} has an invalid page entry")
        pages.append(Page(first, last, pages_start + offset, length, checksum, count))
    if ordered:
        try:
            if any(not page.first <= page.last for page in pages) or any(
                not before.last < after.first for before, after in zip(pages, pages[1:])
            ):
                raise DamagedFile(f"the pages of table {schema.name!r} are not in key order")
        except TypeError:
            raise DamagedFile(f"the page keys of table {schema.name!r} cannot be ordered") from None
    return PagedTable(schema, next_id, tuple(pages), ordered, _page_decoder(schema))


def _page_decoder(schema: TableSchema) -> Callable[[bytes | memoryview], list[dict[str, Any]]]:
    def decode_page(data: bytes | memoryview) -> list[dict[str, Any]]:
        raw = _unpack(data)
        if type(raw) is not list:
            raise DamagedFile("the page is not a list of rows")
        return _rows_from_file(schema, raw)

    return decode_page


def _table_image(entry: dict[str, Any]) -> TableImage:
    schema = TableSchema.from_dict(entry["schema"])
    return TableImage(schema, entry["next_id"], _rows_from_file(schema, entry["rows"]))


class BinaryJournal(JournalFormat):
    """The msgpack journal entries described in the module docstring."""

    def encode_entry(self, entry: Entry) -> bytes:
        """The framed bytes of ``entry``."""
        operations: list[Any] = []
        for operation in entry.operations:
            if isinstance(operation, RowsChanged):
                schema = operation.schema
                encode_row = _row_encoder(schema)
                written = [encode_row(row) for _, row in operation.changes if row is not None]
                deleted = [pk for pk, row in operation.changes if row is None]
                operations.append(["rows", schema.name, operation.next_id, written, deleted])
            elif isinstance(operation, TableCreated):
                operations.append(["create", operation.schema.to_dict()])
            else:
                operations.append(["drop", operation.name])
        payload = _pack(operations)
        head = _ENTRY.pack(_ENTRY_MARK, entry.sequence, len(payload), zlib.crc32(payload))
        return head + _CRC.pack(zlib.crc32(head)) + payload

    def decode_entry(self, data: bytes, offset: int, schema_of: SchemaLookup) -> tuple[Entry, int]:
        """The entry at ``data[offset]`` and the offset after it.

        Raises:
            TornEntry: ``data`` ends inside the entry.
            DamagedFile: a damaged header or payload.
        """
        start = offset + _ENTRY.size + _CRC.size
        if len(data) < start:
            raise TornEntry
        (header_checksum,) = _CRC.unpack_from(data, offset + _ENTRY.size)
        if zlib.crc32(memoryview(data)[offset:offset + _ENTRY.size]) != header_checksum:
            raise DamagedFile("the entry header checksum does not match (changed bytes)", offset)
        mark, sequence, length, checksum = _ENTRY.unpack_from(data, offset)
        if mark != _ENTRY_MARK:
            raise DamagedFile("the bytes are not a journal entry (wrong marker)", offset)
        end = start + length
        if len(data) < end:
            raise TornEntry
        if zlib.crc32(memoryview(data)[start:end]) != checksum:
            raise DamagedFile("the entry checksum does not match (changed bytes)", start)
        try:
            raw = _unpack(memoryview(data)[start:end])
            return Entry(sequence, [_operation(item, schema_of) for item in raw]), end
        except DamagedFile as exc:
            raise DamagedFile(exc.reason, start) from None
        except Exception as exc:
            raise DamagedFile(f"the entry does not decode ({exc})", start) from None


def _operation(raw: list[Any], schema_of: SchemaLookup) -> Operation:
    """An entry operation from its msgpack form."""
    kind = raw[0]
    if kind == "rows":
        _, name, next_id, written, deleted = raw
        schema = schema_of(name)
        if schema is None:
            raise DamagedFile(f"the entry changes rows of table {name!r}, which does not exist")
        if type(next_id) is not int:
            raise DamagedFile(f"table {name!r} has an invalid next key {next_id!r}")
        key = schema.primary_key
        changes: list[tuple[Any, dict[str, Any] | None]] = [
            (row[key], row) for row in _rows_from_file(schema, written)
        ]
        changes.extend((pk, None) for pk in deleted)
        return RowsChanged(schema, next_id, changes)
    if kind == "create":
        return TableCreated(TableSchema.from_dict(raw[1]))
    if kind == "drop" and isinstance(raw[1], str):
        return TableDropped(raw[1])
    raise DamagedFile(f"unknown journal operation {kind!r}")


class BinaryEngine(FileEngine):
    """The memory engine persisted to one msgpack file (see :mod:`pytuck.engines.file`).

    Example::

        db = Storage("app.pytuck")                   # the default engine
        db = Storage("app.db", engine="binary", auto_flush=False)
    """

    name = "binary"
    snapshot_format = BinaryFormat()
    journal_format = BinaryJournal()


register_engine("binary", BinaryEngine, aliases=("pytuck",))
