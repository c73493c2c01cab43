"""The ``json`` engine: the memory engine persisted as a human-readable JSON file.

Persistence, journal, locking and read-only behaviour are those of
:mod:`pytuck.engines.file`; this module owns the layout. A file is a snapshot,
one valid JSON document with one table row per line, followed by the
journal: one line per commit made since the snapshot, each a JSON object
(format version 2)::

    {"magic":"pytuck-json","format_version":2,"sequence":7,"payload_bytes":143,"payload_crc32":2807316771,"header_crc32":1503317090,
    "database":{"tables":[
    {"schema":{"name":"users","comment":null,"columns":[...]},"next_id":3,"rows":[
    {"id":1,"name":"Ann","born":{"$date":"1990-04-01"},"profile":{"city":"Oslo"}},
    {"id":2,"name":"Bob","born":null,"profile":null}
    ]}
    ]}}
    {"sequence":8,"payload_bytes":91,"payload_crc32":361505216,"header_crc32":3355702287,"changes":[{"table":"users","next_id":4,"rows":[{"id":3,"name":"Cy","born":null,"profile":null}],"deleted":[2]}]}

The first line is the snapshot's header: the magic marker, the format
version, the number of the last commit the snapshot holds, the length and
CRC-32 (``zlib.crc32``) of the payload (the value of ``"database"`` exactly as
written), and the CRC-32 of the header line up to ``"header_crc32"``. A
journal line has the same framing: the commit's number (the previous one's
+ 1), the length and CRC-32 of its ``"changes"``, the CRC-32 of the line up to
``"header_crc32"``. Its changes are a list of operations: ``{"table": name,
"next_id": n, "rows": [row, ...], "deleted": [key, ...]}`` (rows and keys
tagged as in the snapshot), ``{"create": schema}`` and ``{"drop": name}``.

After ``close()`` (which compacts) the file is one JSON document again;
while it is open or after a crash, journal lines follow it, and ``jq`` reads
the file as a stream of documents. Editing the file by hand makes it fail a
checksum: pytuck reports it as damaged rather than read altered data. Format
version 1 (a header line without ``sequence`` and ``header_crc32``, no
journal) is still read, and rewritten in version 2 at the first write.

Values: int, float, str, bool and null are JSON's own; JSON documents
(list/dict columns) are written as they are. Any other cell is a one-key
object naming its type, readable by humans:

==========  ===================================================  ======================================
tag         type                                                 value
==========  ===================================================  ======================================
``$dt``     datetime                                             ISO 8601; aware ones in UTC (``+00:00``)
``$date``   date                                                 ISO 8601
``$time``   time                                                 ISO 8601
``$td``     timedelta                                            ``[days, seconds, microseconds]``
``$dec``    Decimal                                              its exact text
``$uuid``   UUID                                                 its canonical text
``$bytes``  bytes                                                base64
``$float``  infinite float (JSON has no literal for it)          ``"inf"`` or ``"-inf"``
``$dict``   a dict in a non-document column that looks like a    the dict itself
            tag (escaped so it is not read as one)
==========  ===================================================  ======================================

Tags are read only at the top of a cell of a non-document column; a document
that happens to look like ``{"$dt": ...}`` is a document and stays one.

Opening decodes the whole snapshot (JSON is the human-readable format; the
binary engine is the one that reads pages on demand).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
import uuid
import zlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

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
    PagedTable,
    Reader,
    SnapshotFormat,
    SnapshotHeader,
    TableImage,
    plain_datetime,
)
from pytuck.schema import TableSchema
from pytuck.types import is_json_type

__all__ = ["JsonEngine", "JsonFormat", "JsonJournal", "MAGIC", "FORMAT_VERSION"]

#: The first bytes of every JSON pytuck database.
MAGIC = b'{"magic":"pytuck-json",'
#: The format version this module writes and the newest it reads.
FORMAT_VERSION = 2

_PAYLOAD_KEY = b'"database":'
_TRAILER = b"}\n"
_DUMP_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def _tag_default(value: Any) -> Any:
    """orjson's ``default`` hook: the tagged form of a value JSON cannot hold."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return {"$dt": plain_datetime(value).isoformat()}
        if value.utcoffset() is not None:
            return {"$dt": plain_datetime(value.astimezone(dt.timezone.utc)).isoformat()}
        return {"$dt": plain_datetime(value).replace(tzinfo=None).isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$td": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    raise TypeError(f"{value!r} ({type(value).__name__}) is not a storable value")


def _decode_timedelta(body: Any) -> dt.timedelta:
    days, seconds, microseconds = body
    return dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)


def _decode_escaped(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("$dict holds no object")
    return body


_TAG_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$dt": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$td": _decode_timedelta,
    "$dec": Decimal,
    "$uuid": uuid.UUID,
    "$bytes": lambda body: base64.b64decode(body, validate=True),
    "$float": float,
    "$dict": _decode_escaped,
}


def _looks_like_tag(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in _TAG_DECODERS


def _special_cell(value: Any) -> Any:
    """The JSON form of a cell orjson would write wrongly, or ``value`` itself."""
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value
        return {"$float": repr(value)}
    if kind is uuid.UUID:
        return {"$uuid": str(value)}
    if kind is dict and _looks_like_tag(value):
        return {"$dict": value}
    return value


def _decode_cell(value: dict[str, Any]) -> Any:
    if len(value) != 1:
        return value
    ((tag, body),) = value.items()
    decoder = _TAG_DECODERS.get(tag)
    return value if decoder is None else decoder(body)


class _TableCodec:
    """Row encoding and decoding for one table (its document columns are known)."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.documents = tuple(c.name for c in schema.columns if is_json_type(c.type))
        self.plain = tuple(c.name for c in schema.columns if not is_json_type(c.type))
        self.width = len(schema.columns)

    def encode_row(self, row: dict[str, Any]) -> bytes:
        # orjson writes UUIDs as plain strings and infinities as null, and a
        # dict could pass for a tag: those cells are converted here; every
        # other non-JSON value reaches _tag_default.
        out = row
        for name in self.plain:
            value = row[name]
            kind = type(value)
            if kind is float or kind is uuid.UUID or kind is dict:
                special = _special_cell(value)
                if special is not value:
                    if out is row:
                        out = dict(row)
                    out[name] = special
        if self.documents:
            if out is row:
                out = dict(row)
            for name in self.documents:
                stored = row[name]
                # The memory engine keeps documents encoded; write them as JSON.
                out[name] = None if stored is None else decode_document(stored)
        return orjson.dumps(out, default=_tag_default, option=_DUMP_OPTIONS)

    def decode_rows(self, rows: list[Any]) -> list[dict[str, Any]]:
        documents = self.documents
        plain = self.plain
        width = self.width
        for row in rows:
            if type(row) is not dict or len(row) != width:
                raise DamagedFile(
                    f"table {self.schema.name!r} holds a row that is not an object of its "
                    f"{width} columns"
                )
            for name in plain:
                value = row[name]
                if type(value) is dict:
                    row[name] = _decode_cell(value)
            for name in documents:
                value = row[name]
                if value is not None:
                    row[name] = encode_document(value)
        return rows


class _ParsedHeader(NamedTuple):
    version: int
    sequence: int
    length: int
    checksum: int
    start: int  # where the payload starts


def _parse_header(data: bytes, size: int) -> _ParsedHeader:
    """The fields of the header line of a JSON snapshot (``data`` holds at least that line)."""
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data[: len(MAGIC)]):
            raise DamagedFile("the file is truncated inside its header", len(data))
        raise DamagedFile("it is not a pytuck JSON database (no pytuck-json header)", 0)
    line_end = data.find(b"\n")
    if line_end < 0:
        if len(data) < size:
            raise DamagedFile("the header line is damaged (it does not end)", 0)
        raise DamagedFile("the file is truncated inside its header", len(data))
    header_line = data[:line_end]
    try:
        if not header_line.endswith(b","):
            raise ValueError("the header line does not end with a comma")
        header = orjson.loads(header_line[:-1] + b"}")
        version = header["format_version"]
        if type(version) is not int:
            raise ValueError("the format version is not an integer")
    except (ValueError, KeyError, TypeError) as exc:
        raise DamagedFile(f"the header line is damaged ({exc})", 0) from None
    if version > FORMAT_VERSION:
        raise DamagedFile(
            f"it was written in format version {version} by a newer pytuck; this one "
            f"reads up to version {FORMAT_VERSION}: upgrade pytuck to open it",
            0,
        )
    if version < 1:
        raise DamagedFile(f"format version {version} does not exist", 0)
    try:
        length = header["payload_bytes"]
        checksum = header["payload_crc32"]
        sequence = header["sequence"] if version >= 2 else 0
        if not all(type(v) is int for v in (length, checksum, sequence)):
            raise ValueError("header fields are not integers")
        if version >= 2:
            covered = header_line.find(b'"header_crc32":')
            if covered < 0 or zlib.crc32(header_line[:covered]) != header["header_crc32"]:
                raise ValueError("its checksum does not match")
    except (ValueError, KeyError, TypeError) as exc:
        raise DamagedFile(f"the header line is damaged ({exc})", 0) from None
    key_start = line_end + 1
    start = key_start + len(_PAYLOAD_KEY)
    if data[key_start:start] != _PAYLOAD_KEY:
        if len(data) < start and size == len(data):
            raise DamagedFile("the file is truncated after its header", len(data))
        raise DamagedFile('the "database" key does not follow the header', key_start)
    return _ParsedHeader(version, sequence, length, checksum, start)


class JsonFormat(SnapshotFormat):
    """The JSON snapshot layout described in the module docstring."""

    name = "json"
    version = FORMAT_VERSION

    def encode(self, tables: Sequence[TableImage], sequence: int) -> bytes:
        """The complete snapshot holding ``tables`` as of commit number ``sequence``."""
        blocks = []
        for image in tables:
            codec = _TableCodec(image.schema)
            rows = b",\n".join(map(codec.encode_row, image.rows))
            blocks.append(
                b'{"schema":' + orjson.dumps(image.schema.to_dict())
                + b',"next_id":' + orjson.dumps(image.next_id)
                + b',"rows":[\n' + rows + (b"\n]}" if rows else b"]}")
            )
        payload = b'{"tables":[\n' + b",\n".join(blocks) + (b"\n]}" if blocks else b"]}")
        covered = (
            MAGIC
            + b'"format_version":%d,"sequence":%d,"payload_bytes":%d,"payload_crc32":%d,'
            % (FORMAT_VERSION, sequence, len(payload), zlib.crc32(payload))
        )
        header = covered + b'"header_crc32":%d,\n' % zlib.crc32(covered)
        return header + _PAYLOAD_KEY + payload + _TRAILER

    def read_header(self, data: bytes, size: int) -> SnapshotHeader:
        """The header of the snapshot starting ``data`` (of a file of ``size`` bytes).

        Raises:
            DamagedFile: no pytuck-json header, newer version, damaged header,
                or a file shorter than the header announces.
        """
        parsed = _parse_header(data, size)
        end = parsed.start + parsed.length + len(_TRAILER)
        if size < end:
            raise DamagedFile(
                f"the file is truncated: the header announces {end} bytes, the file has {size}",
                size,
            )
        if parsed.version == 1 and size > end:
            raise DamagedFile(f"{size - end} unexpected bytes follow a format 1 snapshot", end)
        return SnapshotHeader(parsed.version, parsed.sequence, end)

    def read_tables(self, read: Reader, header: SnapshotHeader) -> list[TableImage | PagedTable]:
        """Every table of the snapshot, every row decoded: a JSON snapshot is read whole.

        Raises:
            DamagedFile: checksum mismatch, or a payload that does not decode.
        """
        return list(self.decode(read(0, header.end), header))

    def decode(self, data: bytes, header: SnapshotHeader) -> list[TableImage]:
        """The tables of the snapshot at the start of ``data``.

        Raises:
            DamagedFile: checksum mismatch, or a payload that does not decode.
        """
        parsed = _parse_header(data, len(data))
        start = parsed.start
        end = start + parsed.length
        if data[end:end + len(_TRAILER)] != _TRAILER:
            raise DamagedFile("the bytes after the payload are not the closing brace", end)
        payload = memoryview(data)[start:end]
        if zlib.crc32(payload) != parsed.checksum:
            raise DamagedFile("the payload checksum does not match (changed bytes)", start)
        try:
            document = orjson.loads(payload)
            return [_table_image(entry) for entry in document["tables"]]
        except DamagedFile:
            raise
        except orjson.JSONDecodeError as exc:
            raise DamagedFile(f"the payload is not valid JSON ({exc})", start + exc.pos) from None
        except Exception as exc:
            raise DamagedFile(f"the payload does not decode ({exc})", start) from None


def _table_image(entry: dict[str, Any]) -> TableImage:
    schema = TableSchema.from_dict(entry["schema"])
    rows = _TableCodec(schema).decode_rows(entry["rows"])
    return TableImage(schema, entry["next_id"], rows)


_ENTRY_HEADER = re.compile(
    rb'(?P<covered>\{"sequence":(?P<sequence>[0-9]{1,20}),"payload_bytes":(?P<length>[0-9]{1,20}),'
    rb'"payload_crc32":(?P<checksum>[0-9]{1,10}),)"header_crc32":(?P<check>[0-9]{1,10}),"changes":'
)
_ENTRY_TRAILER = b"}\n"


class JsonJournal(JournalFormat):
    """The JSON journal entries described in the module docstring: one line each."""

    def encode_entry(self, entry: Entry) -> bytes:
        """The framed line of ``entry``."""
        operations = []
        for operation in entry.operations:
            if isinstance(operation, RowsChanged):
                codec = _TableCodec(operation.schema)
                written = b",".join(codec.encode_row(row) for _, row in operation.changes if row is not None)
                deleted = b",".join(
                    _encode_cell(pk) for pk, row in operation.changes if row is None
                )
                operations.append(
                    b'{"table":' + orjson.dumps(operation.schema.name)
                    + b',"next_id":' + orjson.dumps(operation.next_id)
                    + b',"rows":[' + written + b'],"deleted":[' + deleted + b"]}"
                )
            elif isinstance(operation, TableCreated):
                operations.append(b'{"create":' + orjson.dumps(operation.schema.to_dict()) + b"}")
            else:
                operations.append(b'{"drop":' + orjson.dumps(operation.name) + b"}")
        payload = b"[" + b",".join(operations) + b"]"
        covered = b'{"sequence":%d,"payload_bytes":%d,"payload_crc32":%d,' % (
            entry.sequence, len(payload), zlib.crc32(payload),
        )
        return (
            covered + b'"header_crc32":%d,"changes":' % zlib.crc32(covered)
            + payload + _ENTRY_TRAILER
        )

    def decode_entry(self, data: bytes, offset: int, schema_of: SchemaLookup) -> tuple[Entry, int]:
        """The entry at ``data[offset]`` and the offset after it.

        Raises:
            TornEntry: ``data`` ends inside the entry.
            DamagedFile: a damaged header, payload or line end.
        """
        match = _ENTRY_HEADER.match(data, offset)
        if match is None:
            if data.find(b"\n", offset) < 0:
                raise TornEntry  # the last line, cut short
            raise DamagedFile("the line is not a journal entry", offset)
        if zlib.crc32(match["covered"]) != int(match["check"]):
            raise DamagedFile("the entry header checksum does not match (changed bytes)", offset)
        start = match.end()
        end = start + int(match["length"])
        if len(data) < end + len(_ENTRY_TRAILER):
            raise TornEntry
        if data[end:end + len(_ENTRY_TRAILER)] != _ENTRY_TRAILER:
            raise DamagedFile("the entry does not end where its header says", end)
        payload = memoryview(data)[start:end]
        if zlib.crc32(payload) != int(match["checksum"]):
            raise DamagedFile("the entry checksum does not match (changed bytes)", start)
        try:
            raw = orjson.loads(payload)
            operations = [_operation(item, schema_of) for item in raw]
        except DamagedFile as exc:
            raise DamagedFile(exc.reason, start) from None
        except Exception as exc:
            raise DamagedFile(f"the entry does not decode ({exc})", start) from None
        return Entry(int(match["sequence"]), operations), end + len(_ENTRY_TRAILER)


def _encode_cell(value: Any) -> bytes:
    """One cell of a non-document column (a deleted row's key) as JSON."""
    return orjson.dumps(_special_cell(value), default=_tag_default, option=_DUMP_OPTIONS)


def _operation(raw: dict[str, Any], schema_of: SchemaLookup) -> Operation:
    """An entry operation from its JSON form."""
    if "table" in raw:
        name = raw["table"]
        schema = schema_of(name)
        if schema is None:
            raise DamagedFile(f"the entry changes rows of table {name!r}, which does not exist")
        next_id = raw["next_id"]
        if type(next_id) is not int:
            raise DamagedFile(f"table {name!r} has an invalid next key {next_id!r}")
        key = schema.primary_key
        rows = _TableCodec(schema).decode_rows(raw["rows"])
        changes: list[tuple[Any, dict[str, Any] | None]] = [(row[key], row) for row in rows]
        for pk in raw["deleted"]:
            changes.append((_decode_cell(pk) if type(pk) is dict else pk, None))
        return RowsChanged(schema, next_id, changes)
    if "create" in raw:
        return TableCreated(TableSchema.from_dict(raw["create"]))
    if isinstance(raw.get("drop"), str):
        return TableDropped(raw["drop"])
    raise DamagedFile(f"unknown journal operation {sorted(raw)!r}")


class JsonEngine(FileEngine):
    """The memory engine persisted to one human-readable JSON file.

    See :mod:`pytuck.engines.file` for durability, locking and read-only use.

    Example::

        db = Storage("app.json", engine="json")
    """

    name = "json"
    snapshot_format = JsonFormat()
    journal_format = JsonJournal()


register_engine("json", JsonEngine)
