"""The ``binary`` engine (alias ``"pytuck"``): the memory engine persisted as msgpack.

The default engine of ``Storage("data.pytuck")``. Persistence, locking and
read-only behaviour are those of :mod:`pytuck.engines.file`; this module owns
the byte layout.

File layout, format version 1 (integers big-endian)::

    offset  size  field
    0       8     magic b"PYTUCK\\x1a\\x00"
    8       2     format version (1)
    10      2     flags (0)
    12      8     payload length in bytes
    20      4     CRC-32 of the payload (zlib.crc32)
    24      ...   payload: one msgpack map

The payload is ``{"tables": [{"schema": TableSchema.to_dict(), "next_id": int,
"rows": [[value, ...], ...]}, ...]}``; each row lists its values in the order
of the schema's columns (column names are stored once, in the schema).

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
from typing import Any

import msgpack

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

__all__ = ["BinaryEngine", "BinaryFormat", "MAGIC", "FORMAT_VERSION"]

#: The first bytes of every binary pytuck database.
MAGIC = b"PYTUCK\x1a\x00"
#: The format version this module writes and the newest it reads.
FORMAT_VERSION = 1

_HEADER = struct.Struct(">8sHHQI")
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


class BinaryFormat(SnapshotFormat):
    """The msgpack snapshot layout described in the module docstring."""

    name = "binary"

    def encode(self, tables: Sequence[TableImage]) -> bytes:
        """The complete file content holding ``tables``."""
        document = {
            "tables": [
                {
                    "schema": image.schema.to_dict(),
                    "next_id": image.next_id,
                    "rows": list(map(_row_encoder(image.schema), image.rows)),
                }
                for image in tables
            ]
        }
        payload: bytes = msgpack.packb(
            document, use_bin_type=True, datetime=True, default=_encode_extension
        )
        header = _HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(payload), zlib.crc32(payload))
        return header + payload

    def decode(self, data: bytes) -> list[TableImage]:
        """The tables of a complete file content.

        Raises:
            DamagedFile: wrong magic, truncated, checksum mismatch, newer version,
                or a payload that does not decode.
        """
        if not data.startswith(MAGIC):
            if MAGIC.startswith(data[: len(MAGIC)]):
                raise DamagedFile("the file is truncated inside its header", len(data))
            raise DamagedFile("it is not a pytuck binary database (wrong magic bytes)", 0)
        if len(data) < _HEADER.size:
            raise DamagedFile("the file is truncated inside its header", len(data))
        _, version, flags, length, checksum = _HEADER.unpack_from(data)
        if version > FORMAT_VERSION:
            raise DamagedFile(
                f"it was written in format version {version} by a newer pytuck; this one "
                f"reads up to version {FORMAT_VERSION}: upgrade pytuck to open it",
                8,
            )
        if version < 1:
            raise DamagedFile(f"format version {version} does not exist", 8)
        if flags:
            raise DamagedFile(f"unknown header flags {flags:#06x} for format version 1", 10)
        end = _HEADER.size + length
        if len(data) < end:
            raise DamagedFile(
                f"the file is truncated: the header announces {end} bytes, the file has "
                f"{len(data)}",
                len(data),
            )
        if len(data) > end:
            raise DamagedFile(f"{len(data) - end} unexpected bytes follow the payload", end)
        payload = memoryview(data)[_HEADER.size:]
        if zlib.crc32(payload) != checksum:
            raise DamagedFile("the payload checksum does not match (changed bytes)", _HEADER.size)
        try:
            document = msgpack.unpackb(
                payload, raw=False, timestamp=3, ext_hook=_decode_extension, strict_map_key=True
            )
            return [_table_image(entry) for entry in document["tables"]]
        except DamagedFile:
            raise
        except Exception as exc:
            raise DamagedFile(f"the payload does not decode ({exc})", _HEADER.size) from None


def _table_image(entry: dict[str, Any]) -> TableImage:
    schema = TableSchema.from_dict(entry["schema"])
    names = schema.column_names
    raw_rows = entry["rows"]
    positions = _document_positions(schema)
    if positions and not _COPY_DOCUMENTS:
        for row in raw_rows:
            for i in positions:
                if row[i] is not None:
                    row[i] = encode_document(msgpack.unpackb(row[i]))
    try:
        rows = [dict(zip(names, row, strict=True)) for row in raw_rows]
    except ValueError:
        raise DamagedFile(
            f"table {schema.name!r} holds a row whose length is not its {len(names)} columns"
        ) from None
    return TableImage(schema, entry["next_id"], rows)


class BinaryEngine(FileEngine):
    """The memory engine persisted to one msgpack file (see :mod:`pytuck.engines.file`).

    Example::

        db = Storage("app.pytuck")                   # the default engine
        db = Storage("app.db", engine="binary", auto_flush=False)
    """

    name = "binary"
    snapshot_format = BinaryFormat()


register_engine("binary", BinaryEngine, aliases=("pytuck",))
