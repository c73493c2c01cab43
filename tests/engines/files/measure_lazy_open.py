"""Measure opening a large binary database and answering one key lookup (not a test, not run by CI).

    python tests/engines/files/measure_lazy_open.py [--rows 100000] [--repeat 7]
        [--eager-tree DIR]   # a checkout of pytuck before paged snapshots (commit 2cbc889)

Every figure is taken in a fresh Python process, after ``import pytuck`` (or
``import msgpack``), as the median (and min) of ``--repeat`` runs, the kinds
of run interleaved so a machine whose load drifts weighs on all alike:

* ``paged open + get``: ``Storage(path, read_only=True)``, declare the
  model, ``session.get(User, 77_777)`` on the format 3 file (also prints how
  many pages that decoded);
* ``paged open + count``: the same, then ``session.query(User).count()``,
  which loads the whole table (pages decoded, indexes built);
* ``format 2 open + get``: the same file in format 2 (one msgpack payload),
  which this pytuck still reads, decoded whole at opening;
* ``eager open + get (before)``: with ``--eager-tree``, the format 2 file
  opened by the pytuck of that tree (the open before paged snapshots);
* ``msgpack.unpackb``: one ``unpackb`` of a blob holding the same rows as
  lists (the blob already in memory), the floor of any full decode.
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import msgpack

from pytuck import Column, Session, Storage, declarative_base
from pytuck.engines import binary

_MODEL = """
from pytuck import Column, Session, Storage, declarative_base
storage = Storage(sys.argv[1], engine="binary", read_only=True)
base = declarative_base(storage)
class User(base):
    __tablename__ = "users"
    id = Column(int, primary_key=True)
    name = Column(str, index=True)
    age = Column(int, index="sorted")
    city = Column(str)
    score = Column(float)
"""

_OPEN_AND_GET = (
    "import sys, time\nimport pytuck\nstart = time.perf_counter()\n" + _MODEL + """
with Session(storage) as session:
    assert session.get(User, 77_777).name == "user 77777"
spent = time.perf_counter() - start
reads = getattr(storage.engine, "snapshot_reads", None)
print(spent * 1000, -1 if reads is None else reads.pages)
"""
)

_OPEN_AND_COUNT = (
    "import sys, time\nimport pytuck\nstart = time.perf_counter()\n" + _MODEL + """
with Session(storage) as session:
    assert session.get(User, 77_777).name == "user 77777"
    assert session.query(User).count() == int(sys.argv[2])
print((time.perf_counter() - start) * 1000, -1)
"""
)

_UNPACK = """
import sys, time
import msgpack
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
rows = msgpack.unpackb(data)
spent = time.perf_counter() - start
assert len(rows) == int(sys.argv[2])
print(spent * 1000, -1)
"""


def _build(path: Path, rows: int) -> None:
    with Storage(path, engine="binary") as storage:
        base = declarative_base(storage)

        class User(base):  # type: ignore[misc, valid-type]
            __tablename__ = "users"
            id = Column(int, primary_key=True)
            name = Column(str, index=True)
            age = Column(int, index="sorted")
            city = Column(str)
            score = Column(float)

        with Session(storage) as session:
            session.add_all(
                User(id=i, name=f"user {i}", age=i % 90, city=f"city {i % 50}", score=i / 7)
                for i in range(1, rows + 1)
            )
            session.commit()


def _as_version_2(data: bytes) -> bytes:
    """The compacted format 3 database ``data`` written as format 2 (what pytuck wrote before)."""
    snapshot = binary.BinaryFormat()
    header = snapshot.read_header(data, len(data))
    tables = [
        {
            "schema": image.schema.to_dict(),
            "next_id": image.next_id,
            "rows": [[row[name] for name in image.schema.column_names] for row in image.rows],
        }
        for image in snapshot.decode(data, header)
    ]
    payload = binary._pack({"tables": tables})
    head = struct.pack(">8sHHQIQ", binary.MAGIC, 2, 0, len(payload), zlib.crc32(payload), header.sequence)
    return head + struct.pack(">I", zlib.crc32(head)) + payload


def _run(script: str, args: list[str], tree: str | None = None) -> tuple[float, int]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    """Build the files, run every kind of measurement interleaved, print one line per kind."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--eager-tree", default=None)
    options = parser.parse_args()
    rows = options.rows
    with tempfile.TemporaryDirectory() as folder:
        paged = Path(folder) / "paged.pytuck"
        _build(paged, rows)
        data = paged.read_bytes()
        old = Path(folder) / "format2.pytuck"
        old.write_bytes(_as_version_2(data))
        blob = Path(folder) / "rows.msgpack"
        blob.write_bytes(msgpack.packb(
            [[i, f"user {i}", i % 90, f"city {i % 50}", i / 7] for i in range(1, rows + 1)]
        ))
        kinds: dict[str, tuple[str, list[str], str | None]] = {
            "paged open + get": (_OPEN_AND_GET, [str(paged)], None),
            "paged open + count (loads the table)": (_OPEN_AND_COUNT, [str(paged), str(rows)], None),
            "format 2 open + get (this pytuck)": (_OPEN_AND_GET, [str(old)], None),
            "msgpack.unpackb of the rows as lists": (_UNPACK, [str(blob), str(rows)], None),
        }
        if options.eager_tree:
            kinds["eager open + get (before)"] = (_OPEN_AND_GET, [str(old)], options.eager_tree)
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        pages: dict[str, int] = {}
        for _ in range(options.repeat):
            for kind, (script, args, tree) in kinds.items():
                spent, decoded = _run(script, args, tree)
                times[kind].append(spent)
                pages[kind] = decoded
        print(
            f"{rows:,} rows; file {paged.stat().st_size / 1e6:.1f} MB (format 3), "
            f"{old.stat().st_size / 1e6:.1f} MB (format 2); ms after import, fresh process, "
            f"median (min) of {options.repeat}"
        )
        floor = statistics.median(times["msgpack.unpackb of the rows as lists"])
        for kind, spent in times.items():
            median = statistics.median(spent)
            extra = f"; pages decoded: {pages[kind]}" if pages[kind] >= 0 else ""
            print(
                f"  {kind:40} {median:8.1f} ({min(spent):.1f})  {median / floor:5.2f}x unpackb{extra}"
            )


if __name__ == "__main__":
    main()
