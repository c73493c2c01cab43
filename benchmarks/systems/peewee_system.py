"""peewee on SQLite, as its users write it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import peewee
from peewee import (
    BooleanField,
    DateTimeField,
    FloatField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
    chunked,
    fn,
)
from playhouse.sqlite_ext import JSONField

from benchmarks.harness import System

__all__ = ["PeeweeSystem"]

_database = SqliteDatabase(None)

#: Rows per INSERT statement in the bulk insert (9 columns x 1,000 rows stays
#: well under SQLite's 32,766 bound parameters).
_BATCH = 1000


class User(Model):
    """The users table as a peewee model."""

    id = IntegerField(primary_key=True)
    name = TextField(index=True)
    email = TextField()
    age = IntegerField(index=True)
    score = FloatField()
    active = BooleanField()
    city = TextField()
    created_at = DateTimeField()
    tags = JSONField()

    class Meta:
        database = _database
        table_name = "users"


class PeeweeSystem(System):
    """``User.get_or_none``, ``User.select().where(...)``, ``save()``/``delete_instance()``.

    Args:
        storage: ``"memory"`` (``:memory:``) or ``"file"`` (a database file
            in ``folder``, ``journal_mode=WAL``, ``synchronous=FULL``).
        folder: a temporary folder for the file.
    """

    def __init__(self, storage: str, folder: Path, dsn: str | None = None) -> None:
        self.storage_class = storage
        self.path = ":memory:" if storage == "memory" else str(folder / "peewee.sqlite")
        self.label = "peewee"
        self.notes = (
            f"peewee on SQLite ({'in memory' if storage == 'memory' else 'file, WAL, synchronous=FULL'}); bulk insert via "
            f"insert_many in batches of {_BATCH} inside db.atomic(); updates and deletes load the "
            "row, then save()/delete_instance() inside db.atomic(); indexes on name and age"
        )

    def open(self) -> None:
        """Connect and create the table."""
        pragmas = {} if self.path == ":memory:" else {"journal_mode": "wal", "synchronous": "full"}
        _database.init(self.path, pragmas=pragmas)
        _database.connect()
        _database.create_tables([User])

    def versions(self) -> dict[str, str]:
        """peewee's version."""
        return {"peewee": peewee.__version__}

    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """``User.insert_many(batch).execute()`` per batch, in one transaction."""
        with _database.atomic():
            for batch in chunked(rows, _BATCH):
                User.insert_many(batch).execute()

    def get_each(self, keys: Sequence[int]) -> list[Any]:
        """``User.get_or_none(User.id == key)`` per key."""
        return [User.get_or_none(User.id == key) for key in keys]

    def by_name(self, name: str) -> list[Any]:
        """``list(User.select().where(User.name == name))``."""
        return list(User.select().where(User.name == name))

    def by_city(self, city: str) -> list[Any]:
        """``list(User.select().where(User.city == city))``."""
        return list(User.select().where(User.city == city))

    def age_between(self, lo: int, hi: int) -> list[Any]:
        """``list(User.select().where(User.age.between(lo, hi)))``."""
        return list(User.select().where(User.age.between(lo, hi)))

    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """``list(User.select().where((User.age < age) | (User.name == name)))``."""
        return list(User.select().where((User.age < age) | (User.name == name)))

    def count_by_city(self) -> list[tuple[str, int]]:
        """``User.select(User.city, fn.COUNT(User.id)).group_by(User.city).tuples()``."""
        return list(User.select(User.city, fn.COUNT(User.id)).group_by(User.city).tuples())

    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """Load, set two fields, ``save()``, each inside its own ``db.atomic()``."""
        for key, age, score in changes:
            with _database.atomic():
                user = User.get_by_id(key)
                user.age = age
                user.score = score
                user.save()

    def delete_each(self, keys: Sequence[int]) -> None:
        """Load, ``delete_instance()``, each inside its own ``db.atomic()``."""
        for key in keys:
            with _database.atomic():
                User.get_by_id(key).delete_instance()

    def ident(self, item: Any) -> int:
        """``user.id``."""
        return int(item.id)

    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` of the existing keys."""
        query = User.select(User.id, User.age, User.score).where(User.id.in_(list(keys)))
        return list(query.tuples())

    def row_count(self) -> int:
        """``User.select().count()``."""
        return int(User.select().count())

    def close(self) -> None:
        """Close the connection."""
        _database.close()
