"""The file suite, in one process: ``python -m benchmarks.files --system SPEC --phase PHASE ...``.

What a file database costs where a file matters, measured the same way on
pytuck's file engines and on the peers (Pytuck 1.4, TinyDB, SQLite) plus
baselines that are not databases (one msgpack or JSON blob of the rows; an
append + fdatasync per commit):

* ``build``: a database of N rows (and one of 1,000), written in one go and
  closed; the bytes it takes on disk.
* ``probe``: in a **fresh process**, import the library, then open the N-row
  file and answer one primary-key lookup (the clock covers the open and the
  lookup; the import is reported apart). The orchestrator runs it several
  times, each in a new interpreter.
* ``commits``: first the sync floor of the disk, now (200 appends +
  ``fdatasync`` in the same folder); then 2,000 single-row inserts into an
  empty database, each in its own durable commit; then single-row durable
  commits into the 1,000-row and the N-row databases (as many as fit in a
  time budget, at most ``--commits``), to show whether a commit's cost
  depends on the database's size.

Each phase writes its result as JSON (``--result``); ``benchmarks.files_run``
starts the phases, compares the answers and hands the results to the report.
Every answer is checked: the probe's row, the rows read back after the
inserts, the row count after the commits.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.data import make_extra_rows, make_rows
from benchmarks.file_store import FileStore
from benchmarks.harness import checksum, current_rss_mib, peak_rss_mib
from benchmarks.systems import FILE_SYSTEMS, FileSpec

__all__ = [
    "INSERTS",
    "SMALL",
    "FileStore",
    "answer_of",
    "file_spec",
    "folder_bytes",
    "main",
    "probe_key",
]

#: Single-row durable inserts into an empty database.
INSERTS = 2000
#: Rows of the small database of the commit-cost comparison.
SMALL = 1000
#: Appends + fdatasync of the floor measured in each commits process.
FLOOR_COMMITS = 200
#: The columns a lookup answers with, compared across systems.
ANSWER_FIELDS = ("id", "name", "email", "age", "city")

_ROOT = Path(__file__).resolve().parent.parent


def file_spec(name: str) -> FileSpec:
    """The :class:`~benchmarks.systems.FileSpec` of a file-suite system name.

    ``pytuck:<engine>`` is pytuck on that engine; the rest are listed in
    :data:`~benchmarks.systems.FILE_SYSTEMS`.

    Raises:
        ValueError: an unknown name.
    """
    if name.startswith("pytuck:"):
        return FileSpec("benchmarks.systems.pytuck_system", "PytuckStore", name.split(":", 1)[1], ("pytuck",))
    if name not in FILE_SYSTEMS:
        raise ValueError(f"unknown file-suite system {name!r}; use pytuck:<engine> or one of "
                         f"{', '.join(FILE_SYSTEMS)}")
    return FILE_SYSTEMS[name]


def probe_key(n: int, seed: int) -> int:
    """The primary key the probe looks up in the ``n``-row database."""
    import random

    return random.Random(f"pytuck-bench-probe:{seed}:{n}").randint(1, n)


def answer_of(row: dict[str, Any] | None) -> list[Any] | None:
    """The compared part of a looked-up row."""
    return None if row is None else [row[field] for field in ANSWER_FIELDS]


def folder_bytes(folder: Path) -> int:
    """Bytes of every file in ``folder`` (the database, its journal or WAL, lock files)."""
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())


def _store(spec: FileSpec) -> FileStore:
    if spec.python == "pytuck14":
        _hide_checkout()
    factory = getattr(importlib.import_module(spec.module), spec.cls)
    store: FileStore = factory(spec.variant)
    return store


def _hide_checkout() -> None:
    """Take the checkout off ``sys.path`` so ``import pytuck`` finds Pytuck 1.4, not this repo.

    ``python -m`` puts the working directory (the checkout) first on the
    path; the ``benchmarks`` modules are imported by then, so removing it
    leaves them working while ``pytuck`` resolves in the interpreter's own
    site-packages.
    """
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _ROOT]
    loaded = sys.modules.get("pytuck")
    if loaded is not None and _ROOT in Path(str(loaded.__file__)).resolve().parents:
        raise RuntimeError("this repository's pytuck is already imported; Pytuck 1.4 cannot load here")


def _db(folder: Path, store: FileStore) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"bench{store.suffix}"


def _timed_commits(store: FileStore, rows: Sequence[dict[str, Any]], budget_s: float | None) -> list[float]:
    """Commit each row on its own; the time of each commit in µs. Stops once ``budget_s``
    is spent (after at least 5 commits); the cyclic gc is paused meanwhile."""
    times: list[float] = []
    spent = 0.0
    gc.collect()
    gc.disable()
    try:
        for row in rows:
            start = time.perf_counter()
            store.insert_one(row)
            took = time.perf_counter() - start
            times.append(took * 1e6)
            spent += took
            if budget_s is not None and spent >= budget_s and len(times) >= 5:
                break
    finally:
        gc.enable()
    return times


def _commit_figures(times: list[float]) -> dict[str, Any]:
    ordered = sorted(times)
    return {
        "commits": len(times),
        "total_ms": sum(times) / 1000.0,
        "median_us": statistics.median(times),
        "mean_us": statistics.fmean(times),
        "p90_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "max_us": ordered[-1],
    }


def _sync_floor(path: Path, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Append each row's msgpack bytes to ``path`` and ``os.fdatasync`` it; the commit figures.

    The same floor as the ``fsync`` baseline system, measured in this process
    just before the system's own commits, on the same disk.
    """
    import os

    import msgpack

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    encoded = [bytes(msgpack.packb({**row, "created_at": row["created_at"].isoformat()})) for row in rows]
    times = []
    try:
        for record in encoded:
            start = time.perf_counter()
            os.write(fd, record)
            os.fdatasync(fd)
            times.append((time.perf_counter() - start) * 1e6)
    finally:
        os.close(fd)
        path.unlink()
    return _commit_figures(times)


def _phase_build(store: FileStore, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.folder)
    out: dict[str, Any] = {}
    for name, n in (("large", args.n), ("small", SMALL)):
        rows = make_rows(n, args.seed)
        path = _db(folder / name, store)
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            store.build(path, rows)
            took = time.perf_counter() - start
        finally:
            gc.enable()
        out[name] = {"rows": n, "build_ms": took * 1000.0, "bytes": folder_bytes(path.parent)}
        del rows
    return out


def _phase_probe(spec: FileSpec, args: argparse.Namespace) -> dict[str, Any]:
    if spec.python == "pytuck14":
        _hide_checkout()
    rss_start = current_rss_mib()
    start = time.perf_counter()
    library = importlib.import_module(spec.requires[0])
    imported = time.perf_counter()
    store = _store(spec)
    if "probe" not in store.phases:
        return {"skipped": f"{store.label} takes no part in probe"}
    if spec.python == "pytuck14" and not str(getattr(library, "__version__", "")).startswith("1."):
        raise RuntimeError(f"{spec.requires[0]} {getattr(library, '__version__', '?')} is not Pytuck 1.x")
    path = _db(Path(args.folder) / "large", store)
    rss_before = current_rss_mib()
    gc.collect()
    gc.disable()
    try:
        clock = time.perf_counter()
        store.open(path)
        row = store.get(args.key)
        took = time.perf_counter() - clock
    finally:
        gc.enable()
    rss_after = current_rss_mib()
    answer = answer_of(row)
    store.close()
    return {
        "import_ms": (imported - start) * 1000.0,
        "open_get_ms": took * 1000.0,
        "answer": answer,
        "checksum": checksum(answer),
        "rss_start_mib": rss_start,
        "rss_open_mib": None if rss_after is None or rss_before is None else rss_after - rss_before,
        "rss_peak_mib": peak_rss_mib(),
        "label": store.label,
        "notes": store.notes,
        "versions": store.versions(),
    }


def _read_back(store: FileStore, path: Path, keys: Sequence[int]) -> tuple[int, str]:
    store.open(path)
    try:
        count = store.count()
        answers = [answer_of(store.get(key)) for key in keys]
    finally:
        store.close()
    return count, checksum([count, answers])


def _phase_commits(store: FileStore, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.folder)
    out: dict[str, Any] = {"label": store.label, "notes": store.notes, "versions": store.versions()}

    # The sync floor on this disk, now: the disk's sync latency drifts over minutes on a shared
    # machine, so each system is also compared with a floor measured right before its commits.
    out["floor"] = _sync_floor(folder / "floor.log", make_rows(FLOOR_COMMITS, args.seed))

    # 2,000 single-row durable inserts into an empty database.
    rows = make_rows(INSERTS, args.seed)
    path = _db(folder / "inserts", store)
    store.build(path, [])
    store.open(path)
    times = _timed_commits(store, rows, None)
    bytes_open = folder_bytes(path.parent)
    store.close()
    inserts: dict[str, Any] = {**_commit_figures(times), "bytes_before_close": bytes_open,
                               "bytes": folder_bytes(path.parent)}
    if store.readable:
        keys = list(range(1, INSERTS + 1, 97))
        inserts["count"], inserts["checksum"] = _read_back(store, path, keys)
        expected = [answer_of(rows[key - 1]) for key in keys]
        inserts["verified"] = inserts["checksum"] == checksum([INSERTS, expected])
    out["inserts"] = inserts

    # Single-row durable commits into the small and the large database.
    for name, n in (("small", SMALL), ("large", args.n)):
        extra = make_extra_rows(args.commits, n + 1, args.seed)
        path = _db(folder / name, store)
        start = time.perf_counter()
        store.open(path)
        opened_ms = (time.perf_counter() - start) * 1000.0
        times = _timed_commits(store, extra, args.budget)
        store.close()
        figures: dict[str, Any] = {"rows": n, "open_ms": opened_ms, **_commit_figures(times)}
        if store.readable:
            done = len(times)
            count, digest = _read_back(store, path, [n + 1, n + done])
            expected = [answer_of(extra[0]), answer_of(extra[done - 1])]
            figures["verified"] = digest == checksum([n + done, expected])
            figures["count"] = count
        out[name] = figures
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.files", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", required=True, help="pytuck:<engine> or one of " + ", ".join(FILE_SYSTEMS))
    parser.add_argument("--phase", required=True, choices=("build", "probe", "commits"))
    parser.add_argument("--folder", required=True, help="the system's folder (databases go in subfolders)")
    parser.add_argument("--n", type=int, default=100_000, help="rows of the large database")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--key", type=int, default=None, help="probe: the primary key to look up")
    parser.add_argument("--commits", type=int, default=200, help="commits: at most this many per database size")
    parser.add_argument("--budget", type=float, default=5.0,
                        help="commits: stop a database size's commits after this many seconds")
    parser.add_argument("--result", default=None, help="write the JSON result here (default: stdout)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.files``: run one phase for one system."""
    args = _parser().parse_args(argv)
    spec = file_spec(args.system)
    if args.phase == "probe":
        if args.key is None:
            args.key = probe_key(args.n, args.seed)
        result = _phase_probe(spec, args)
    else:
        store = _store(spec)
        if args.phase not in store.phases:
            result = {"skipped": f"{store.label} takes no part in {args.phase}"}
        elif args.phase == "build":
            result = _phase_build(store, args)
        else:
            result = _phase_commits(store, args)
    text = json.dumps(result, indent=2, default=str)
    if args.result:
        Path(args.result).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
