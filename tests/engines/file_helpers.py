"""Helpers shared by the file engine tests: engines, suffixes, small models, file layout."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

from pytuck import Column, Session, Storage, declarative_base
from pytuck.engines import binary
from pytuck.engines.binary import BinaryFormat
from pytuck.engines.json import JsonFormat
from pytuck.engines.snapshot import SnapshotFormat

#: The file engines and the file suffix each conventionally uses.
FILE_ENGINES = {"binary": ".pytuck", "json": ".json"}
#: The snapshot layout of each file engine.
SNAPSHOT_FORMATS: dict[str, SnapshotFormat] = {"binary": BinaryFormat(), "json": JsonFormat()}


def database_path(folder: Path, engine: str, stem: str = "db") -> Path:
    """Where a test keeps its database of ``engine`` inside ``folder``."""
    return folder / f"{stem}{FILE_ENGINES[engine]}"


def bind_users(storage: Storage) -> Any:
    """Declare the test model on ``storage`` (creating or checking its table); return it."""
    base = declarative_base(storage)

    class Person(base):  # type: ignore[misc, valid-type]
        __tablename__ = "people"
        id = Column(int, primary_key=True)
        name = Column(str, nullable=False)
        email = Column(str, unique=True)
        age = Column(int, index="sorted")

    return Person


def add_people(storage: Storage, model: Any, *rows: dict[str, Any]) -> None:
    """Insert ``rows`` into ``model``'s table in one committed session."""
    with Session(storage) as session:
        session.add_all(model(**row) for row in rows)
        session.commit()


def names(storage: Storage, model: Any) -> list[str]:
    """Names of every stored row of ``model``, sorted."""
    with Session(storage) as session:
        return sorted(person.name for person in session.query(model))


def make_database(path: Path, engine: str, *people: str) -> None:
    """Create a closed database at ``path`` holding one row per name in ``people``."""
    with Storage(path, engine=engine) as storage:
        model = bind_users(storage)
        add_people(storage, model, *({"name": name} for name in people))


def bind_counters(storage: Storage) -> Any:
    """Declare a table of named counters on ``storage``; return its model."""
    base = declarative_base(storage)

    class Counter(base):  # type: ignore[misc, valid-type]
        __tablename__ = "counters"
        id = Column(int, primary_key=True)
        value = Column(int, nullable=False)

    return Counter


def snapshot_end(path: Path, engine: str) -> int:
    """Where the journal of the database file at ``path`` begins (the snapshot's end)."""
    data = path.read_bytes()
    return SNAPSHOT_FORMATS[engine].read_header(data, len(data)).end


def binary_pages_start(data: bytes) -> int:
    """Where the pages of a binary (format 3) snapshot begin: after its header and directory."""
    (directory_length,) = struct.unpack_from(">Q", data, 12)
    return 44 + int(directory_length)


def legacy_binary(data: bytes, version: int) -> bytes:
    """The compacted binary database ``data`` written again in format 1 or 2 (one msgpack payload).

    Format 2 is what pytuck wrote before paged snapshots; format 1 is the
    development version before the journal (no sequence number, no header checksum).
    """
    snapshot = BinaryFormat()
    header = snapshot.read_header(data, len(data))
    assert header.end == len(data), "compact the database first"
    tables = [
        {
            "schema": image.schema.to_dict(),
            "next_id": image.next_id,
            "rows": [[row[name] for name in image.schema.column_names] for row in image.rows],
        }
        for image in snapshot.decode(data, header)
    ]
    payload = binary._pack({"tables": tables})
    if version == 1:
        return struct.pack(">8sHHQI", binary.MAGIC, 1, 0, len(payload), zlib.crc32(payload)) + payload
    head = struct.pack(">8sHHQIQ", binary.MAGIC, 2, 0, len(payload), zlib.crc32(payload), header.sequence)
    return head + struct.pack(">I", zlib.crc32(head)) + payload
