"""Baselines of the file suite that are not databases.

* :class:`BlobStore`: the rows as **one blob** (a msgpack or JSON array of row
  maps, ``created_at`` as ISO text), what an eager loader reads: opening is
  reading the file and decoding every row, a lookup scans the list. This is
  the "full decode of the same rows" an open-and-first-query is compared with.
* :class:`AppendFloor`: the floor of a durable commit: append the row's
  msgpack encoding to a file and ``os.fdatasync`` it, nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgpack

from benchmarks.file_store import FileStore

__all__ = ["AppendFloor", "BlobStore"]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": row["created_at"].isoformat()}


class BlobStore(FileStore):
    """All rows in one msgpack (``variant="msgpack"``) or orjson (``"orjson"``) array.

    Args:
        variant: ``"msgpack"`` or ``"orjson"``.
    """

    phases = frozenset({"build", "probe"})

    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.label = f"{variant} blob"
        self.suffix = ".msgpack" if variant == "msgpack" else ".json"
        codec = "msgpack.packb / msgpack.unpackb" if variant == "msgpack" else "orjson.dumps / orjson.loads"
        self.notes = (f"not a database: the rows as one array of maps ({codec}, created_at as ISO "
                      "text); open = read the file + decode every row; lookup = scan the list")
        self.rows: list[dict[str, Any]] = []

    def _encode(self, rows: list[dict[str, Any]]) -> bytes:
        if self.variant == "msgpack":
            return bytes(msgpack.packb(rows))
        import orjson

        return orjson.dumps(rows)

    def build(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """Write the encoded rows to ``path``."""
        path.write_bytes(self._encode([_plain(row) for row in rows]))

    def open(self, path: Path) -> None:
        """Read the whole file and decode every row."""
        data = path.read_bytes()
        if self.variant == "msgpack":
            self.rows = msgpack.unpackb(data)
        else:
            import orjson

            self.rows = orjson.loads(data)

    def get(self, key: int) -> dict[str, Any] | None:
        """The first row whose ``id`` is ``key`` (a scan)."""
        return next((row for row in self.rows if row["id"] == key), None)

    def count(self) -> int:
        """Rows decoded."""
        return len(self.rows)

    def close(self) -> None:
        """Drop the decoded rows."""
        self.rows = []

    def versions(self) -> dict[str, str]:
        """The codec's version."""
        if self.variant == "msgpack":
            return {"msgpack": ".".join(map(str, msgpack.version))}
        import orjson

        return {"orjson": orjson.__version__}


class AppendFloor(FileStore):
    """The durable-commit floor: ``os.write`` of the row's msgpack bytes (``O_APPEND``) + ``os.fdatasync``.

    Args:
        variant: unused (``""``).
    """

    label = "append+fdatasync"
    suffix = ".log"
    phases = frozenset({"commits"})
    readable = False
    notes = ("not a database: per commit, os.write of the row's msgpack bytes (~150 B) to a file "
             "opened O_APPEND, then os.fdatasync — the floor under any durable commit")

    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.fd = -1

    def build(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """Write the rows as concatenated records (an empty file for none)."""
        path.write_bytes(b"".join(bytes(msgpack.packb(_plain(row))) for row in rows))

    def open(self, path: Path) -> None:
        """Open the file for appending (created if missing)."""
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def insert_one(self, row: dict[str, Any]) -> None:
        """Append the record, then ``os.fdatasync``."""
        os.write(self.fd, msgpack.packb(_plain(row)))
        os.fdatasync(self.fd)

    def get(self, key: int) -> dict[str, Any] | None:
        """Not supported: a log has no lookup."""
        raise NotImplementedError("the append floor cannot look rows up")

    def count(self) -> int:
        """Not supported."""
        raise NotImplementedError("the append floor does not count rows")

    def close(self) -> None:
        """Close the file."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def versions(self) -> dict[str, str]:
        """msgpack's version."""
        return {"msgpack": ".".join(map(str, msgpack.version))}
