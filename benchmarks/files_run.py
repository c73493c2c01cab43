"""Orchestrating the file suite: every system's phases, each in a fresh interpreter.

For each system: a ``build`` process writes the N-row and the 1,000-row
databases; then ``--probe-repeat`` fresh processes each open the N-row file
and look one key up; then a ``commits`` process makes the single-row durable
commits (into an empty database, the 1,000-row one and the N-row one). Pytuck
1.4 runs under ``--pytuck14-python``; a system whose interpreter or library is
missing is skipped with the reason recorded. The answers are compared with
the generated data and across systems.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.data import row_at
from benchmarks.files import answer_of, file_spec, probe_key
from benchmarks.harness import checksum

__all__ = ["DEFAULT_FILE_SYSTEMS", "missing_modules", "run_file_suite"]

_ROOT = Path(__file__).resolve().parent.parent

#: The file suite's peers and baselines, in report order (pytuck's engines come first).
DEFAULT_FILE_SYSTEMS = ("pytuck14:pytuck", "pytuck14:json", "tinydb", "sqlite3", "msgpack", "orjson", "fsync")


def missing_modules(python: str, modules: Sequence[str]) -> list[str]:
    """The ``modules`` that ``python`` cannot import (looked up from a neutral folder,
    so this checkout's ``pytuck`` is not mistaken for another interpreter's)."""
    code = ("import importlib.util, sys\n"
            "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))")
    with tempfile.TemporaryDirectory(prefix="pytuck-bench-probe-") as folder:
        try:
            done = subprocess.run([python, "-c", code, *modules], cwd=folder, capture_output=True,
                                  text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"({python} does not run: {exc})"]
    if done.returncode != 0:
        return [f"({python} failed: {done.stderr.strip()[-200:]})"]
    return done.stdout.split()


def _phase(python: str, system: str, phase: str, folder: Path, options: list[str]) -> dict[str, Any]:
    result = folder / f"{phase}.json"
    command = [python, "-m", "benchmarks.files", "--system", system, "--phase", phase,
               "--folder", str(folder), "--result", str(result), *options]
    done = subprocess.run(command, cwd=_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{system} {phase} failed (status {done.returncode}):\n{done.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.read_text())
    result.unlink()
    return data


def run_file_suite(
    systems: Sequence[str],
    *,
    n: int,
    seed: int,
    commits: int,
    budget: float,
    probe_repeat: int,
    pytuck14_python: str | None,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Run the file suite on ``systems``; return results, skipped systems and mismatches.

    Returns:
        ``{"systems": {name: {"label", "notes", "versions", "build", "probes",
        "probe", "commits"}}, "skipped": {name: why}, "mismatches": [...],
        "settings": {...}}``.
    """
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    options = ["--n", str(n), "--seed", str(seed)]
    key = probe_key(n, seed)
    for name in systems:
        spec = file_spec(name)
        python = sys.executable if spec.python == "main" else pytuck14_python
        if python is None:
            skipped[name] = ("no Pytuck 1.4 interpreter: pass --pytuck14-python (a virtual environment "
                             "with pytuck==1.4.0) or set $PYTUCK_BENCH_PYTUCK14_PYTHON")
            continue
        missing = missing_modules(python, spec.requires)
        if missing:
            skipped[name] = f"{python} cannot import {', '.join(missing)}"
            continue
        say(f"# files: {name} ({python})")
        try:
            build, probes, commit_result = _run_phases(python, name, options, key, probe_repeat, commits, budget)
        except RuntimeError as exc:
            say(f"FAILED: {exc}")
            failed[name] = str(exc).splitlines()[0] + " " + (str(exc).strip().splitlines()[-1:] or [""])[0]
            continue
        first = probes[0] if probes else commit_result
        results[name] = {
            "label": first.get("label", name),
            "notes": first.get("notes", ""),
            "versions": first.get("versions", {}),
            "python": python,
            "build": None if "skipped" in build else build,
            "probes": probes,
            "probe": _probe_summary(probes),
            "commits": None if "skipped" in commit_result else commit_result,
        }
    expected = checksum(answer_of(row_at(n, seed, key))) if results else None
    return {
        "systems": results,
        "skipped": skipped,
        "failed": failed,
        "mismatches": _mismatches(results, expected),
        "settings": {"n": n, "seed": seed, "key": key, "commits": commits, "budget_s": budget,
                     "probe_repeat": probe_repeat},
    }


def _run_phases(
    python: str, name: str, options: list[str], key: int, probe_repeat: int, commits: int, budget: float
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """build, the probes (each a fresh process), then commits, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="pytuck-bench-files-") as tmp:
        folder = Path(tmp)
        build = _phase(python, name, "build", folder, options)
        probes: list[dict[str, Any]] = []
        for _ in range(probe_repeat):
            probe = _phase(python, name, "probe", folder, [*options, "--key", str(key)])
            if "skipped" in probe:
                break
            probes.append(probe)
        commit_result = _phase(python, name, "commits", folder,
                               [*options, "--commits", str(commits), "--budget", str(budget)])
    return build, probes, commit_result


def _probe_summary(probes: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not probes:
        return None
    return {
        "open_get_ms": statistics.median(p["open_get_ms"] for p in probes),
        "open_get_ms_all": [p["open_get_ms"] for p in probes],
        "import_ms": statistics.median(p["import_ms"] for p in probes),
        "rss_open_mib": statistics.median(p["rss_open_mib"] or 0.0 for p in probes),
        "checksum": probes[0]["checksum"],
        "answer": probes[0]["answer"],
    }


def _mismatches(results: dict[str, Any], expected: str | None) -> list[str]:
    problems = []
    for name, result in results.items():
        for probe in result["probes"]:
            if probe["checksum"] != expected:
                problems.append(f"files: {name} probe answered {probe['answer']}, expected checksum {expected}")
                break
        commit_result = result["commits"] or {}
        for part in ("inserts", "small", "large"):
            figures = commit_result.get(part)
            if figures is not None and figures.get("verified") is False:
                problems.append(f"files: {name} {part}: the rows read back differ from the rows committed")
    digests = {name: (r["commits"] or {}).get("inserts", {}).get("checksum") for name, r in results.items()}
    seen = {digest for digest in digests.values() if digest is not None}
    if len(seen) > 1:
        problems.append(f"files: the inserted rows read back differently: {digests}")
    return problems
