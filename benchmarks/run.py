"""Run the benchmark: ``python -m benchmarks.run [--n 100000] [--engines memory] [--peers ...]``.

Each pytuck engine and each peer runs the same workload in its own fresh
interpreter (``benchmarks.worker``), one after the other. The answers of all
systems are compared; any disagreement fails the run (exit status 1) after the
results are written. The table goes to stdout and, with ``--out``, to a
markdown file next to the JSON results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import find_mismatches, markdown  # noqa: E402
from benchmarks.systems import PEERS  # noqa: E402

__all__ = ["main", "runnable_engines"]

_ROOT = Path(__file__).resolve().parent.parent
_DSN_ENV = "PYTUCK_BENCH_DSN"


def _names(text: str) -> list[str]:
    if text.strip().lower() in ("", "none"):
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def runnable_engines(names: list[str] | None, dsn: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Probe pytuck engines by opening each one through ``Storage``.

    Args:
        names: engines to probe, or None for every registered engine.
        dsn: a server DSN for server engines.

    Returns:
        ``({engine: "memory" | "file"}, {engine: why it was skipped})``.
    """
    from benchmarks.systems.pytuck_system import engine_location
    from pytuck import Storage
    from pytuck.engines import available_engines

    usable: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in names if names is not None else available_engines():
        if name == "postgresql" and not dsn:
            skipped[name] = f"no server DSN (--dsn or ${_DSN_ENV})"
            continue
        try:
            with tempfile.TemporaryDirectory(prefix="pytuck-bench-probe-") as folder:
                storage = Storage(engine_location(name, Path(folder), dsn), engine=name)
                persistent = storage.engine.capabilities.persistent
                storage.close()
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot run here"
            skipped[name] = f"{type(exc).__name__}: {exc}"
            continue
        usable[name] = "file" if persistent else "memory"
    return usable, skipped


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def _source_state() -> str:
    """The checkout's commit, whether it has uncommitted changes (read-only git calls),
    and a digest of pytuck's source files, to notice edits made during a run."""
    from benchmarks.systems.pytuck_system import source_digest

    files = f"source digest {source_digest(_ROOT / 'pytuck')}"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"not a git checkout, {files}"
    return f"commit {head}{' with uncommitted changes' if dirty else ''}, {files}"


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _worker_command(args: argparse.Namespace, system: str, extra: list[str], result: Path) -> list[str]:
    command = [
        sys.executable, "-m", "benchmarks.worker",
        "--system", system, "--n", str(args.n), "--seed", str(args.seed),
        "--repeat", str(args.repeat), "--budget", str(args.budget), "--gc", args.gc,
        "--result", str(result),
    ]
    if args.dsn:
        command += ["--dsn", args.dsn]
    if args.verbose:
        command.append("--verbose")
    return command + extra


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=100_000, help="rows in the table (default 100000)")
    parser.add_argument("--engines", type=_names, default=None,
                        help="comma-separated pytuck engines (default: every registered engine "
                             "that opens here); 'none' for peers only")
    parser.add_argument("--peers", type=_names, default=None,
                        help=f"comma-separated peers (default: {','.join(PEERS)}, but tinydb only in "
                             "memory: its JSON file storage rereads and rewrites the whole file on every "
                             "operation); 'none' for none")
    parser.add_argument("--seed", type=int, default=20240611, help="data seed (default 20240611)")
    parser.add_argument("--out", default=None,
                        help="a folder (results.json + results.md are written in it) or a .json path "
                             "(the .md goes next to it)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions of each read-only group; the median is reported (default 3)")
    parser.add_argument("--budget", type=float, default=3.0,
                        help="stop repeating a read group once its repetitions took this many "
                             "seconds (default 3)")
    parser.add_argument("--gc", choices=("paused", "on"), default="paused",
                        help="paused (default): a full collection, then the cyclic gc disabled, "
                             "around each timed group, for every system; on: gc runs normally")
    parser.add_argument("--peer-storage", choices=("auto", "memory", "file", "both"), default="auto",
                        help="peers in memory (SQLite :memory:, TinyDB MemoryStorage) or in files; "
                             "auto: what the chosen engines are (memory engine -> memory)")
    parser.add_argument("--no-bulk-insert", action="store_true",
                        help="skip the extra insert-only process measuring Session.bulk_insert")
    parser.add_argument("--dsn", default=os.environ.get(_DSN_ENV),
                        help=f"server DSN for server engines (default ${_DSN_ENV})")
    parser.add_argument("-v", "--verbose", action="store_true", help="show each group as it finishes")
    return parser


def _out_paths(out: str) -> tuple[Path, Path]:
    path = Path(out)
    if path.suffix == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, path.with_suffix(".md")
    path.mkdir(parents=True, exist_ok=True)
    return path / "results.json", path / "results.md"


def main(argv: list[str] | None = None) -> int:
    """Entry point: run every system, cross-check, print and write the report."""
    args = _parser().parse_args(argv)
    engines, skipped = runnable_engines(args.engines, args.dsn)
    if args.engines is not None and skipped:
        for name, why in skipped.items():
            print(f"engine {name!r} cannot run here: {why}", file=sys.stderr)
        return 2
    for name, why in skipped.items():
        print(f"# skipping engine {name}: {why}", file=sys.stderr)
    peers = list(PEERS) if args.peers is None else args.peers
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        print(f"unknown peers {unknown}; known: {', '.join(PEERS)}", file=sys.stderr)
        return 2
    if args.peer_storage == "auto":
        modes = sorted(set(engines.values()) or {"memory"}, key=["memory", "file"].index)
    elif args.peer_storage == "both":
        modes = ["memory", "file"]
    else:
        modes = [args.peer_storage]

    jobs: list[tuple[str, list[str]]] = []
    for engine in engines:
        jobs.append((f"pytuck:{engine}", []))
        if not args.no_bulk_insert:
            jobs.append((f"pytuck:{engine}", ["--insert-method", "bulk_insert", "--only", "none"]))
    for mode in modes:
        for peer in peers:
            if mode == "file" and peer == "tinydb" and args.peers is None:
                print("# skipping tinydb[file] (name it in --peers to run it): JSONStorage "
                      "rereads and rewrites the whole file on every get, query and write",
                      file=sys.stderr)
                continue
            jobs.append((peer, ["--peer-storage", mode]))

    started = time.time()
    load_before = _load()
    source_before = _source_state()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pytuck-bench-results-") as folder:
        for index, (system, extra) in enumerate(jobs):
            result_path = Path(folder) / f"{index}.json"
            command = _worker_command(args, system, extra, result_path)
            print(f"# [{index + 1}/{len(jobs)}] {system} {' '.join(extra)}", file=sys.stderr, flush=True)
            done = subprocess.run(command, cwd=_ROOT, stderr=None if args.verbose else subprocess.PIPE, text=True)
            if done.returncode != 0:
                print(done.stderr or "", file=sys.stderr)
                print(f"FAILED: the worker for {system} exited with status {done.returncode}", file=sys.stderr)
                return 1
            results.append(json.loads(result_path.read_text()))

    mismatches = find_mismatches(results)
    command_line = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command_line.strip(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "n": args.n,
        "seed": args.seed,
        "repeat": args.repeat,
        "budget": args.budget,
        "gc": args.gc,
        "gc_text": ("paused: gc.collect() then gc.disable() around each timed group, for every system"
                    if args.gc == "paused" else "running normally, for every system"),
        "engines": engines,
        "skipped_engines": skipped,
        "peer_storage": modes,
        "machine": _machine(),
        "source": source_before,
        "source_after": _source_state(),
        "load_average": {"before": load_before, "after": _load()},
        "total_s": round(time.time() - started, 1),
    }
    table = markdown(results, meta)
    machine = meta["machine"]
    text = (
        f"Command: `{meta['command']}` — {meta['date']}, {meta['total_s']:.0f} s in all.\n"
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, "
        f"{machine['os']}, {machine['python']}; load average (1, 5, 15 min) "
        f"{meta['load_average']['before']} before, {meta['load_average']['after']} after.\n"
        f"pytuck source: {meta['source']}"
        + ("" if meta["source_after"] == meta["source"]
           else f"; CHANGED during the run, at the end: {meta['source_after']}")
        + ".\n\n" + table
    )
    print(text)
    if args.out:
        json_path, md_path = _out_paths(args.out)
        json_path.write_text(json.dumps({"meta": meta, "results": results, "mismatches": mismatches}, indent=2))
        md_path.write_text(text)
        print(f"# wrote {json_path} and {md_path}", file=sys.stderr)
    if mismatches:
        print("\nANSWER MISMATCH: the systems disagree; these results are not valid:", file=sys.stderr)
        for line in mismatches:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
