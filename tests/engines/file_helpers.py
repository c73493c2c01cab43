"""Helpers shared by the file engine tests: engines, suffixes, small models, file layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytuck import Column, Session, Storage, declarative_base
from pytuck.engines.binary import BinaryFormat
from pytuck.engines.file import SnapshotFormat
from pytuck.engines.json import JsonFormat

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
