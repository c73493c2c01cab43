"""Run the benchmark: ``python -m benchmarks.run [--n 100000] [--engines memory] [--peers ...]``.

Two suites, in one run:

* the **workload** (bulk insert, gets, queries, group by, updates, deletes):
  each pytuck engine and each peer of the same storage class (memory, SQLite
  files, DuckDB, PostgreSQL) in its own fresh interpreter
  (``benchmarks.worker``), one after the other;
* the **file suite** (durable single-row commits, open-and-first-query in a
  fresh process, size on disk) on pytuck's file engines, Pytuck 1.4, TinyDB,
  SQLite and baselines (``benchmarks.files``), when a file engine runs.

The answers of all systems are compared; any disagreement fails the run
(exit status 1) after the results are written. The report goes to stdout
and, with ``--out``, to a markdown file next to the JSON results.
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

from benchmarks.files_run import DEFAULT_FILE_SYSTEMS, missing_modules, run_file_suite  # noqa: E402
from benchmarks.harness import source_digest  # noqa: E402
from benchmarks.report import files_markdown, find_mismatches, markdown  # noqa: E402
from benchmarks.systems import PEERS, STORAGE_CLASSES  # noqa: E402
from benchmarks.systems.pg import mask_dsn  # noqa: E402

__all__ = ["main", "runnable_engines"]

_ROOT = Path(__file__).resolve().parent.parent
_DSN_ENV = "PYTUCK_BENCH_DSN"
_PEER_PYTHON_ENV = "PYTUCK_BENCH_PEER_PYTHON"
_PYTUCK14_ENV = "PYTUCK_BENCH_PYTUCK14_PYTHON"
#: Engines the file suite runs on by default (when they run in the workload).
_FILE_ENGINES = ("binary", "json")


def _names(text: str) -> list[str]:
    if text.strip().lower() in ("", "none"):
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def runnable_engines(names: list[str] | None, dsn: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Probe pytuck engines by opening each one through ``Storage``, in a child process.

    The orchestrator imports no database library: a child's peak resident
    size (``ru_maxrss``) starts from its parent's, so a heavy orchestrator
    would inflate every worker's memory figures.

    Args:
        names: engines to probe, or None for every registered engine.
        dsn: a server DSN for server engines.

    Returns:
        ``({engine: storage class}, {engine: why it was skipped})``; the
        storage class is one of :data:`~benchmarks.systems.STORAGE_CLASSES`.
    """
    command = [sys.executable, "-m", "benchmarks.worker", "--probe-engines",
               "all" if names is None else ",".join(names) or ","]
    if dsn:
        command += ["--dsn", dsn]
    done = subprocess.run(command, cwd=_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"probing the engines failed:\n{done.stderr[-3000:]}")
    probed = json.loads(done.stdout)
    return dict(probed["usable"]), dict(probed["skipped"])


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


def _worker_command(args: argparse.Namespace, python: str, system: str, extra: list[str],
                    result: Path) -> list[str]:
    command = [
        python, "-m", "benchmarks.worker",
        "--system", system, "--n", str(args.n), "--seed", str(args.seed),
        "--repeat", str(args.repeat), "--budget", str(args.budget), "--gc", args.gc,
        "--result", str(result),
    ]
    if args.dsn:
        command += ["--dsn", args.dsn]
    if args.verbose:
        command.append("--verbose")
    return command + extra


def _classes(text: str) -> list[str]:
    if text == "auto":
        return ["auto"]
    names = _names(text)
    unknown = [name for name in names if name not in STORAGE_CLASSES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown storage classes {unknown}; use {', '.join(STORAGE_CLASSES)}")
    return names


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
                        help=f"comma-separated workload peers (default: {','.join(PEERS)}, each in the "
                             "storage classes it has; tinydb in memory only unless named: its JSON file "
                             "storage rereads and rewrites the whole file on every operation); 'none'")
    parser.add_argument("--peer-storage", type=_classes, default=["auto"],
                        help="storage classes the peers run in: auto (those of the engines) or a "
                             f"comma list of {', '.join(STORAGE_CLASSES)}")
    parser.add_argument("--peer-python", default=os.environ.get(_PEER_PYTHON_ENV),
                        help="an interpreter for peers whose driver this one lacks (e.g. a virtual "
                             "environment with sqlalchemy, psycopg and duckdb_engine; default "
                             f"${_PEER_PYTHON_ENV})")
    parser.add_argument("--suite", choices=("all", "workload", "files"), default="all",
                        help="all (default): the workload, and the file suite when a file engine "
                             "runs; workload; files: the file suite alone")
    parser.add_argument("--file-engines", type=_names, default=None,
                        help="pytuck engines of the file suite (default: binary and json, those "
                             "that open here)")
    parser.add_argument("--file-peers", type=_names, default=None,
                        help=f"file-suite peers and baselines (default: {','.join(DEFAULT_FILE_SYSTEMS)})")
    parser.add_argument("--pytuck14-python", default=os.environ.get(_PYTUCK14_ENV),
                        help="the interpreter of a virtual environment with pytuck==1.4.0 (it has "
                             f"pytuck's import name; default ${_PYTUCK14_ENV}); without it Pytuck 1.4 "
                             "is skipped")
    parser.add_argument("--commits", type=int, default=200,
                        help="file suite: at most this many single-row commits per database size")
    parser.add_argument("--commit-budget", type=float, default=5.0,
                        help="file suite: stop one database size's commits after this many seconds "
                             "(at least 5 commits; default 5)")
    parser.add_argument("--probe-repeat", type=int, default=5,
                        help="file suite: fresh processes per open-and-first-query (median; default 5)")
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
    parser.add_argument("--no-bulk-insert", action="store_true",
                        help="skip the extra insert-only process measuring Session.bulk_insert")
    parser.add_argument("--dsn", default=os.environ.get(_DSN_ENV),
                        help=f"PostgreSQL DSN for the postgresql engine and its peers (default ${_DSN_ENV})")
    parser.add_argument("-v", "--verbose", action="store_true", help="show each group as it finishes")
    return parser


def _out_paths(out: str) -> tuple[Path, Path]:
    path = Path(out)
    if path.suffix == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, path.with_suffix(".md")
    path.mkdir(parents=True, exist_ok=True)
    return path / "results.json", path / "results.md"


def _peer_jobs(args: argparse.Namespace, classes: list[str],
               notes: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """``(python, peer, worker options)`` per peer and storage class; skipped ones go to ``notes``."""
    jobs = []
    named = args.peers is not None
    for storage_class in classes:
        for peer in (args.peers if named else list(PEERS)):
            spec = PEERS[peer]
            key = f"{peer}[{storage_class}]"
            if storage_class not in spec.storages:
                if named:
                    notes[key] = f"{peer} has no {storage_class} storage"
                continue
            if storage_class == "file" and peer == "tinydb" and not named:
                notes[key] = ("left out unless --peers names it: JSONStorage rereads and rewrites the "
                              "whole file on every get, query and write (see the file suite)")
                continue
            if storage_class == "postgresql" and not args.dsn:
                notes[key] = f"no PostgreSQL DSN (--dsn or ${_DSN_ENV})"
                continue
            python = _python_for(spec.storages[storage_class], args.peer_python)
            if python is None:
                notes[key] = (f"needs {', '.join(spec.storages[storage_class])}: not importable here"
                              + (f" nor in {args.peer_python}" if args.peer_python else
                                 f"; pass --peer-python (or ${_PEER_PYTHON_ENV})"))
                continue
            jobs.append((python, peer, ["--peer-storage", storage_class]))
    return jobs


def _python_for(modules: tuple[str, ...], peer_python: str | None) -> str | None:
    if not missing_modules(sys.executable, modules):
        return sys.executable
    if peer_python and not missing_modules(peer_python, modules):
        return peer_python
    return None


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the suites, cross-check, print and write the report."""
    args = _parser().parse_args(argv)
    engine_names = args.engines
    if args.suite == "files" and engine_names is None:
        engine_names = list(args.file_engines or _FILE_ENGINES)
    engines, skipped = runnable_engines(engine_names, args.dsn)
    if args.engines is not None and skipped:
        for name, why in skipped.items():
            print(f"engine {name!r} cannot run here: {why}", file=sys.stderr)
        return 2
    for name, why in skipped.items():
        _say(f"# skipping engine {name}: {why}")
    unknown = [p for p in (args.peers or []) if p not in PEERS]
    if unknown:
        print(f"unknown peers {unknown}; known: {', '.join(PEERS)}", file=sys.stderr)
        return 2
    if args.peer_storage == ["auto"]:
        classes = [c for c in STORAGE_CLASSES if c in set(engines.values())] or ["memory"]
    else:
        classes = args.peer_storage

    skipped_peers: dict[str, str] = {}
    jobs: list[tuple[str, str, list[str]]] = []
    if args.suite != "files":
        for engine in engines:
            jobs.append((sys.executable, f"pytuck:{engine}", []))
            if not args.no_bulk_insert:
                jobs.append((sys.executable, f"pytuck:{engine}", ["--insert-method", "bulk_insert", "--only", "none"]))
        jobs += _peer_jobs(args, classes, skipped_peers)
    for key, why in skipped_peers.items():
        _say(f"# skipping {key}: {why}")

    started = time.time()
    load_before = _load()
    source_before = _source_state()
    results: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="pytuck-bench-results-") as folder:
        for index, (python, system, extra) in enumerate(jobs):
            result_path = Path(folder) / f"{index}.json"
            command = _worker_command(args, python, system, extra, result_path)
            where = "" if python == sys.executable else f" ({python})"
            _say(f"# [{index + 1}/{len(jobs)}] {system} {' '.join(extra)}{where}")
            done = subprocess.run(command, cwd=_ROOT, stderr=None if args.verbose else subprocess.PIPE, text=True)
            if done.returncode != 0:
                print(done.stderr or "", file=sys.stderr)
                _say(f"FAILED: the worker for {system} {' '.join(extra)} exited with status {done.returncode}")
                tail = (done.stderr or "").strip().splitlines()[-1:] or ["(no output)"]
                failed[f"{system} {' '.join(extra)}".strip()] = f"exit status {done.returncode}: {tail[0]}"
                continue
            result = json.loads(result_path.read_text())
            result["python"] = python
            results.append(result)
    load_workload = _load()

    files: dict[str, Any] | None = None
    file_engines = [e for e in (args.file_engines or _FILE_ENGINES) if e in engines]
    if args.suite != "workload" and file_engines:
        peers = DEFAULT_FILE_SYSTEMS if args.file_peers is None else tuple(args.file_peers)
        files = run_file_suite(
            [f"pytuck:{engine}" for engine in file_engines] + list(peers),
            n=args.n, seed=args.seed, commits=args.commits, budget=args.commit_budget,
            probe_repeat=args.probe_repeat, pytuck14_python=args.pytuck14_python, say=_say,
        )
        for name, why in files["skipped"].items():
            _say(f"# files: skipping {name}: {why}")
        failed.update({f"files: {name}": why for name, why in files["failed"].items()})

    mismatches = find_mismatches(results) + (files["mismatches"] if files else [])
    shown = [mask_dsn(word) if "://" in word else word for word in (argv if argv is not None else sys.argv[1:])]
    command_line = "python -m benchmarks.run " + " ".join(shown)
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
        "skipped_peers": skipped_peers,
        "failed": failed,
        "peer_storage": classes,
        "machine": _machine(),
        "source": source_before,
        "source_after": _source_state(),
        "load_average": {"before": load_before, "after_workload": load_workload, "after": _load()},
        "total_s": round(time.time() - started, 1),
    }
    machine = meta["machine"]
    loads = meta["load_average"]
    text = (
        f"Command: `{meta['command']}` — {meta['date']}, {meta['total_s']:.0f} s in all.\n"
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}, "
        f"{machine['os']}, {machine['python']}; load average (1, 5, 15 min) "
        f"{loads['before']} before, {loads['after_workload']} after the workload, {loads['after']} at the end.\n"
        f"pytuck source: {meta['source']}"
        + ("" if meta["source_after"] == meta["source"]
           else f"; CHANGED during the run, at the end: {meta['source_after']}")
        + ".\n"
    )
    if failed:
        text += "\nFAILED (no figures): " + "; ".join(f"{k}: {v}" for k, v in failed.items()) + ".\n"
    if results:
        text += "\n" + markdown(results, meta)
    if files:
        text += "\n" + files_markdown(files)
    print(text)
    if args.out:
        json_path, md_path = _out_paths(args.out)
        json_path.write_text(json.dumps({"meta": meta, "results": results, "files": files,
                                         "mismatches": mismatches}, indent=2, default=str))
        md_path.write_text(text)
        _say(f"# wrote {json_path} and {md_path}")
    if mismatches:
        print("\nANSWER MISMATCH: the systems disagree; these results are not valid:", file=sys.stderr)
        for line in mismatches:
            print(f"  {line}", file=sys.stderr)
        return 1
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
