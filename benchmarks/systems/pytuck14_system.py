"""Pytuck 1.4, the release our users come from, for the file suite.

It has our import name (``pytuck``), so it runs in an interpreter of its own
(``--pytuck14-python``, a virtual environment with ``pytuck==1.4.0``) and
this module is only ever imported there, after :mod:`benchmarks.files` has
taken the checkout off ``sys.path``.

As its users write it: ``Storage(path, engine=..., auto_flush=True)``, a
model from ``declarative_base``, a ``Session``; with ``auto_flush=True`` each
``session.commit()`` calls ``storage.flush()``, which writes the whole file
again (the ``pytuck`` binary engine first loads every lazily opened row) to a
temporary file and renames it over the old one, without fsync: the commit is
in the page cache, not necessarily on the disk, when it returns.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytuck
from benchmarks.file_store import FileStore
from pytuck import Column, Session, Storage, declarative_base

__all__ = ["Pytuck14Store"]


def _declare_user(storage: Storage) -> Any:
    base: Any = declarative_base(storage)

    class User(base):  # type: ignore[misc, valid-type]
        __tablename__ = "users"
        id = Column(int, primary_key=True)
        name = Column(str, index=True, nullable=False)
        email = Column(str, nullable=False)
        age = Column(int, index="sorted", nullable=False)
        score = Column(float, nullable=False)
        active = Column(bool, nullable=False)
        city = Column(str, nullable=False)
        created_at = Column(datetime, nullable=False)
        tags = Column(list, nullable=False)

    return User


class Pytuck14Store(FileStore):
    """Pytuck 1.4 on its ``pytuck`` (binary) or ``json`` engine.

    Args:
        variant: the Pytuck 1.4 engine name, ``"pytuck"`` or ``"json"``.
    """

    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.label = f"pytuck 1.4:{variant}"
        self.suffix = ".pytuck" if variant == "pytuck" else ".json"
        self.notes = (
            f"Pytuck {pytuck.__version__}, Storage(path, engine={variant!r}, auto_flush=True), the "
            "model declared on open, one Session; each commit rewrites the whole file (temp file + "
            "rename, no fsync: page cache only); bulk build via session.add_all + commit"
        )

    def build(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """``session.add_all(...)``, ``session.commit()`` (which flushes), ``storage.close()``."""
        storage = Storage(str(path), engine=self.variant, auto_flush=True)
        User = _declare_user(storage)
        session = Session(storage)
        session.add_all([User(**row) for row in rows])
        session.commit()
        session.close()
        storage.flush()
        storage.close()

    def open(self, path: Path) -> None:
        """``Storage(path, engine=..., auto_flush=True)``, declare ``User``, open a ``Session``."""
        self.storage = Storage(str(path), engine=self.variant, auto_flush=True)
        self.User = _declare_user(self.storage)
        self.session = Session(self.storage)

    def insert_one(self, row: dict[str, Any]) -> None:
        """``session.add(User(**row)); session.commit()`` (a whole-file rewrite)."""
        self.session.add(self.User(**row))
        self.session.commit()

    def get(self, key: int) -> dict[str, Any] | None:
        """``session.get(User, key)``, as a dict of its columns."""
        user = self.session.get(self.User, key)
        if user is None:
            return None
        return {"id": user.id, "name": user.name, "email": user.email, "age": user.age, "city": user.city}

    def count(self) -> int:
        """``storage.count_rows("users")``."""
        return int(self.storage.count_rows("users"))

    def close(self) -> None:
        """Close the session and the storage (which flushes)."""
        self.session.close()
        self.storage.close()

    def versions(self) -> dict[str, str]:
        """Pytuck's version."""
        return {"pytuck": pytuck.__version__}
