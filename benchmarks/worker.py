"""One system, one fresh interpreter: ``python -m benchmarks.worker --system SPEC ...``.

The orchestrator (``benchmarks.run``) starts one worker per system so that no
two systems share a heap, a garbage collector or imported modules. A worker
generates the data from the seed, runs the workload, and writes its results as
JSON to ``--result`` (or stdout). It can also be run by hand, e.g. with
``--profile age_range`` to see where one operation group spends its time.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.data import make_rows, make_workload, rows_digest
from benchmarks.harness import OPERATIONS, peak_rss_mib, run_workload
from benchmarks.systems import STORAGE_CLASSES, build_system

__all__ = ["main", "run_one"]


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """Run the workload for ``args.system`` in this process and return its results."""
    started = time.time()
    rows = make_rows(args.n, args.seed)
    workload = make_workload(rows, args.seed)
    digest = rows_digest(rows)
    with tempfile.TemporaryDirectory(prefix="pytuck-bench-") as folder:
        system = build_system(
            args.system,
            Path(folder),
            peer_storage=args.peer_storage,
            insert_method=args.insert_method,
            dsn=args.dsn,
        )
        system.open()
        try:
            result = run_workload(
                system,
                rows,
                workload,
                gc_mode=args.gc,
                repeat=args.repeat,
                budget_s=args.budget,
                only=args.only,
                insert_key="insert_bulk_api" if args.insert_method == "bulk_insert" else "insert",
                profile=args.profile,
                progress=(lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None,
            )
        finally:
            system.close()
    result.update(
        system=args.system,
        label=system.label,
        variant="bulk_insert" if args.insert_method == "bulk_insert" else None,
        storage_class=system.storage_class,
        notes=system.notes,
        versions=system.versions(),
        n=args.n,
        seed=args.seed,
        gc=args.gc,
        data_digest=digest,
        python=platform.python_version(),
        wall_s=time.time() - started,
        rss_final_mib=peak_rss_mib(),
    )
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default=None, help="pytuck:<engine> or a peer name")
    parser.add_argument("--probe-engines", default=None, metavar="NAMES",
                        help="instead of a workload: open each pytuck engine (comma list, or 'all') "
                             "and print {usable: {engine: storage class}, skipped: {engine: why}}")
    parser.add_argument("--n", type=int, default=100_000, help="rows (default 100000)")
    parser.add_argument("--seed", type=int, default=20240611, help="data seed")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of read groups (median)")
    parser.add_argument("--budget", type=float, default=3.0,
                        help="stop repeating a read group once its repetitions took this many seconds")
    parser.add_argument("--gc", choices=("paused", "on"), default="paused",
                        help="paused: collect, then disable the cyclic gc around each timed group")
    parser.add_argument("--peer-storage", choices=STORAGE_CLASSES, default="memory",
                        help="the storage class a peer runs in")
    parser.add_argument("--insert-method", choices=("add_all", "bulk_insert"), default="add_all",
                        help="pytuck's bulk insert path")
    parser.add_argument("--only", nargs="*", default=(),
                        choices=[op.key for op in OPERATIONS] + ["none"],
                        help="run only these groups (the insert always runs)")
    parser.add_argument("--dsn", default=None, help="server DSN for server engines")
    parser.add_argument("--profile", default=None, choices=[op.key for op in OPERATIONS],
                        help="run this group under cProfile; stats go to stderr")
    parser.add_argument("--result", default=None, help="write the JSON result here (default: stdout)")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per group on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.worker``."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.probe_engines is not None:
        from benchmarks.systems.pytuck_system import probe_engines

        names = None if args.probe_engines == "all" else [n for n in args.probe_engines.split(",") if n]
        usable, skipped = probe_engines(names, args.dsn)
        probed: dict[str, Any] = {"usable": usable, "skipped": skipped}
        text = json.dumps(probed)
        if args.result:
            Path(args.result).write_text(text)
        else:
            print(text)
        return 0
    if args.system is None:
        parser.error("--system is required (or --probe-engines)")
    result = run_one(args)
    text = json.dumps(result, indent=2)
    if args.result:
        Path(args.result).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
