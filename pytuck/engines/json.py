"""The ``json`` engine: the memory engine persisted as a human-readable JSON file.

Persistence, locking and read-only behaviour are those of
:mod:`pytuck.engines.file`; this module owns the layout. The whole file is one
valid JSON document (``jq`` and editors read it), one table row per line::

    {"magic":"pytuck-json","format_version":1,"payload_bytes":143,"payload_crc32":2807316771,
    "database":{"tables":[
    {"schema":{"name":"users","comment":null,"columns":[...]},"next_id":3,"rows":[
    {"id":1,"name":"Ann","born":{"$date":"1990-04-01"},"profile":{"city":"Oslo"}},
    {"id":2,"name":"Bob","born":null,"profile":null}
    ]}
    ]}}

The first line is the header: the magic marker, the format version, and the
length and CRC-32 (``zlib.crc32``) of the payload, which is the value of
``"database"`` exactly as written. Editing the file by hand therefore makes it
fail the checksum: pytuck reports it as damaged rather than read altered data.

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
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
import zlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson

from pytuck.engines.base import register_engine
from pytuck.engines.file import (
    DamagedFile,
    FileEngine,
    SnapshotFormat,
    TableImage,
    plain_datetime,
)
from pytuck.engines.memory.engine import decode_document, encode_document
from pytuck.schema import TableSchema
from pytuck.types import is_json_type

__all__ = ["JsonEngine", "JsonFormat", "MAGIC", "FORMAT_VERSION"]

#: The first bytes of every JSON pytuck database.
MAGIC = b'{"magic":"pytuck-json",'
#: The format version this module writes and the newest it reads.
FORMAT_VERSION = 1

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


class JsonFormat(SnapshotFormat):
    """The JSON snapshot layout described in the module docstring."""

    name = "json"

    def encode(self, tables: Sequence[TableImage]) -> bytes:
        """The complete file content holding ``tables``."""
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
        header = (
            MAGIC
            + b'"format_version":%d,"payload_bytes":%d,"payload_crc32":%d,\n'
            % (FORMAT_VERSION, len(payload), zlib.crc32(payload))
        )
        return header + _PAYLOAD_KEY + payload + _TRAILER

    def decode(self, data: bytes) -> list[TableImage]:
        """The tables of a complete file content.

        Raises:
            DamagedFile: wrong magic, truncated, checksum mismatch, newer version,
                or a payload that does not decode.
        """
        if not data.startswith(MAGIC):
            if MAGIC.startswith(data[: len(MAGIC)]):
                raise DamagedFile("the file is truncated inside its header", len(data))
            raise DamagedFile("it is not a pytuck JSON database (no pytuck-json header)", 0)
        line_end = data.find(b"\n")
        if line_end < 0:
            raise DamagedFile("the file is truncated inside its header", len(data))
        header_line = data[:line_end]
        try:
            if not header_line.endswith(b","):
                raise ValueError("the header line does not end with a comma")
            header = orjson.loads(header_line[:-1] + b"}")
            version = header["format_version"]
            length = header["payload_bytes"]
            checksum = header["payload_crc32"]
            if not all(type(v) is int for v in (version, length, checksum)):
                raise ValueError("header fields are not integers")
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
        key_start = line_end + 1
        start = key_start + len(_PAYLOAD_KEY)
        if data[key_start:start] != _PAYLOAD_KEY:
            if len(data) < start:
                raise DamagedFile("the file is truncated after its header", len(data))
            raise DamagedFile('the "database" key does not follow the header', key_start)
        end = start + length
        if len(data) < end + len(_TRAILER):
            raise DamagedFile(
                f"the file is truncated: the header announces {end + len(_TRAILER)} bytes, "
                f"the file has {len(data)}",
                len(data),
            )
        if data[end:] != _TRAILER:
            raise DamagedFile("the bytes after the payload are not the closing brace", end)
        payload = memoryview(data)[start:end]
        if zlib.crc32(payload) != checksum:
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


class JsonEngine(FileEngine):
    """The memory engine persisted to one human-readable JSON file.

    See :mod:`pytuck.engines.file` for durability, locking and read-only use.

    Example::

        db = Storage("app.json", engine="json")
    """

    name = "json"
    snapshot_format = JsonFormat()


register_engine("json", JsonEngine)
