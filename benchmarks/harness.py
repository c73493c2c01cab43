"""The workload runner: one :class:`System` adapter, timed group by group, in this process.

An adapter wraps one database (a pytuck engine or a peer) and performs each
operation the way that library's users write it. The runner owns the clock,
the garbage-collector policy, the answer checksums and the memory reading, so
every system is measured the same way.

Timing: ``time.perf_counter`` around each group (``time.process_time`` is
kept alongside, as CPU time is less disturbed by a busy machine). Query groups
time each query call (which returns the fully materialised result list) and
take the ids out of the result after the clock stops; batch groups (gets,
updates, deletes) time the adapter's own loop. Read groups may run several
times, each in a fresh session; the median is reported.

Memory: the peak resident set size of the process, ``resource.getrusage``
``ru_maxrss``. tracemalloc is not used: it slows Python allocations several
times over and does not see SQLite's own (C) memory.
"""

from __future__ import annotations

import cProfile
import gc
import hashlib
import json
import pstats
import resource
import statistics
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.data import Workload

__all__ = [
    "OPERATIONS",
    "Operation",
    "System",
    "checksum",
    "current_rss_mib",
    "peak_rss_mib",
    "run_workload",
    "source_digest",
]

perf_counter = time.perf_counter
process_time = time.process_time


@dataclass(frozen=True)
class Operation:
    """One row of the report: an operation group and how to describe it."""

    key: str
    label: str
    read_only: bool


#: The operation groups, in the order they run and are reported.
OPERATIONS: list[Operation] = [
    Operation("insert", "bulk insert of N rows", False),
    Operation("insert_bulk_api", "bulk insert of N rows, Session.bulk_insert (pytuck only)", False),
    Operation("get", "pk get, one by one", True),
    Operation("name_eq", "indexed equality: name == x", True),
    Operation("city_scan", "full-scan equality: city == x (no index)", True),
    Operation("age_range", "range: age BETWEEN a AND a+5, rows returned", True),
    Operation("or_query", "OR: age < a OR name == x", True),
    Operation("group_count", "group by city: count", True),
    Operation("update", "update by key, one commit each", False),
    Operation("delete", "delete by key, one commit each", False),
]


class System(ABC):
    """One database under test. Subclasses implement each operation idiomatically.

    Objects returned by the query methods are whatever the library returns
    (model instances, documents, tuples); :meth:`ident` reads the primary key
    of one of them.
    """

    #: Column heading in the report, e.g. ``"sqlalchemy"`` or ``"pytuck:memory"``.
    label: str = ""
    #: One line saying how this system is set up and which APIs it uses.
    notes: str = ""
    #: ``"memory"`` or ``"file"``: engines are compared with peers stored the same way.
    storage_class: str = "memory"

    @abstractmethod
    def open(self) -> None:
        """Create the empty users table and its indexes (not timed)."""

    @abstractmethod
    def insert_all(self, rows: list[dict[str, Any]]) -> None:
        """Insert every row in one transaction, starting from the plain dicts."""

    def begin_group(self) -> None:  # noqa: B027 - stateless adapters need nothing here
        """Start a fresh unit of work (a new session) for one group repetition."""

    def end_group(self) -> None:  # noqa: B027 - stateless adapters need nothing here
        """Close the unit of work opened by :meth:`begin_group`."""

    @abstractmethod
    def get_each(self, keys: Sequence[int]) -> list[Any]:
        """Fetch each key with its own primary-key lookup; return the found rows."""

    @abstractmethod
    def by_name(self, name: str) -> list[Any]:
        """Rows whose indexed ``name`` equals ``name``."""

    @abstractmethod
    def by_city(self, city: str) -> list[Any]:
        """Rows whose unindexed ``city`` equals ``city``."""

    @abstractmethod
    def age_between(self, lo: int, hi: int) -> list[Any]:
        """Rows with ``lo <= age <= hi``."""

    @abstractmethod
    def age_below_or_name(self, age: int, name: str) -> list[Any]:
        """Rows with ``age < age`` or ``name == name``."""

    @abstractmethod
    def count_by_city(self) -> list[tuple[str, int]]:
        """``(city, row count)`` per city, in any order."""

    @abstractmethod
    def update_each(self, changes: Sequence[tuple[int, int, float]]) -> None:
        """Set ``age`` and ``score`` of each ``(id, age, score)``, one commit per row."""

    @abstractmethod
    def delete_each(self, keys: Sequence[int]) -> None:
        """Delete each key, one commit per row."""

    @abstractmethod
    def ident(self, item: Any) -> int:
        """The primary key of one returned row."""

    @abstractmethod
    def snapshot(self, keys: Sequence[int]) -> list[tuple[int, int, float]]:
        """``(id, age, score)`` of the rows among ``keys`` that exist (verification, not timed)."""

    @abstractmethod
    def row_count(self) -> int:
        """Rows in the table (verification, not timed)."""

    @abstractmethod
    def close(self) -> None:
        """Release the database."""

    def versions(self) -> dict[str, str]:
        """Library versions worth recording next to the results."""
        return {}


def source_digest(package: Path) -> str:
    """A short digest of every ``.py`` file under ``package``, to tell which code was measured."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def checksum(value: Any) -> str:
    """A short, order-sensitive digest of a JSON-able answer."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mib() -> float | None:
    """Resident set size of this process now, in MiB (Linux ``/proc/self/statm``), or None."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * resource.getpagesize() / (1024 * 1024)


class _Clock:
    """Runs group repetitions under one garbage-collector policy.

    ``gc_mode == "paused"``: before each repetition a full collection runs
    (not timed) and the collector is disabled until the repetition ends, so no
    system pays for garbage another group left or for the size of the heap.
    ``"on"``: the collector runs as it normally would, timed.
    """

    def __init__(self, gc_mode: str, repeat: int, budget_s: float) -> None:
        self.gc_mode = gc_mode
        self.repeat = repeat
        self.budget_s = budget_s

    def repetitions(self, read_only: bool) -> int:
        return self.repeat if read_only else 1

    def enter(self) -> None:
        if self.gc_mode == "paused":
            gc.collect()
            gc.disable()

    def leave(self) -> None:
        if self.gc_mode == "paused":
            gc.enable()


class _Stopwatch:
    """Accumulates wall time (``perf_counter``, the reported figure) and CPU time
    (``process_time``, kept in the JSON to judge runs on a busy machine)."""

    __slots__ = ("wall", "cpu", "_wall0", "_cpu0")

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self._wall0 = 0.0
        self._cpu0 = 0.0

    def start(self) -> None:
        self._cpu0 = process_time()
        self._wall0 = perf_counter()

    def stop(self) -> None:
        self.wall += perf_counter() - self._wall0
        self.cpu += process_time() - self._cpu0


Timed = tuple[_Stopwatch, int, str]


def _queries(
    system: System, call: Callable[..., list[Any]], arguments: Sequence[tuple[Any, ...]]
) -> tuple[_Stopwatch, list[list[int]]]:
    """Time each query call; read the ids of its answer after the clock stops."""
    watch = _Stopwatch()
    answers = []
    ident = system.ident
    for args in arguments:
        watch.start()
        found = call(*args)
        watch.stop()
        answers.append(sorted(ident(item) for item in found))
        del found
    return watch, answers


def _id_lists(answers: list[list[int]]) -> tuple[int, str]:
    return sum(len(ids) for ids in answers), checksum(answers)


def run_workload(
    system: System,
    rows: list[dict[str, Any]],
    workload: Workload,
    *,
    gc_mode: str = "paused",
    repeat: int = 3,
    budget_s: float = 3.0,
    only: Sequence[str] = (),
    insert_key: str = "insert",
    profile: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the workload on ``system``; return per-group times and answer checksums.

    Args:
        system: an opened adapter with an empty table.
        rows: the rows to insert.
        workload: the operation arguments.
        gc_mode: ``"paused"`` or ``"on"`` (see :class:`_Clock`).
        repeat: repetitions of each read-only group (median reported); a group
            stops repeating once its repetitions took ``budget_s`` seconds.
        only: run only these groups (the insert always runs).
        insert_key: the result key the insert is reported under.
        profile: a group key to run under cProfile (its stats go to stderr).
        progress: called with a short line as each group finishes.

    Returns:
        ``{"groups": {key: {"ops", "times_ms", "median_ms", "cpu_ms", "median_cpu_ms",
        "count", "checksum", "reps"}}}`` plus ``"rss_baseline_mib"`` (peak RSS
        before the insert), ``"rss_before_insert_mib"`` and ``"rss_after_insert_mib"``
        (RSS just before the insert, and right after it and a full collection;
        None where unknown) and ``"rss_peak_mib"``.
    """
    clock = _Clock(gc_mode, repeat, budget_s)
    groups: dict[str, dict[str, Any]] = {}
    say = progress or (lambda _line: None)

    def record(key: str, watches: list[_Stopwatch], count: int, digest: str) -> None:
        times_ms = [w.wall * 1000.0 for w in watches]
        cpu_ms = [w.cpu * 1000.0 for w in watches]
        groups[key] = {
            "ops": ops_of[key],
            "times_ms": times_ms,
            "median_ms": statistics.median(times_ms),
            "cpu_ms": cpu_ms,
            "median_cpu_ms": statistics.median(cpu_ms),
            "count": count,
            "checksum": digest,
            "reps": len(watches),
        }
        say(f"{system.label}: {key} {statistics.median(times_ms):.1f} ms x{len(watches)}")

    def timed(key: str, read_only: bool, body: Callable[[], Timed]) -> None:
        if only and key not in only and key != insert_key:
            return
        watches: list[_Stopwatch] = []
        answer: tuple[int, str] | None = None
        for _ in range(clock.repetitions(read_only)):
            system.begin_group()
            clock.enter()
            try:
                watch, count, digest = _profiled(body) if profile == key else body()
            finally:
                clock.leave()
                system.end_group()
            if answer is not None and answer != (count, digest):
                raise AssertionError(
                    f"{system.label}: {key} answered {count}/{digest}, earlier {answer[0]}/{answer[1]}"
                )
            answer = (count, digest)
            watches.append(watch)
            if sum(w.wall for w in watches) >= clock.budget_s:
                break
        assert answer is not None
        record(key, watches, *answer)

    ops_of = {
        insert_key: len(rows),
        "get": len(workload.get_keys),
        "name_eq": len(workload.names),
        "city_scan": len(workload.cities),
        "age_range": len(workload.age_ranges),
        "or_query": len(workload.or_args),
        "group_count": 1,
        "update": len(workload.updates),
        "delete": len(workload.delete_keys),
    }

    gc.collect()
    baseline = peak_rss_mib()
    before_insert = current_rss_mib()

    def insert() -> Timed:
        watch = _Stopwatch()
        watch.start()
        system.insert_all(rows)
        watch.stop()
        count = system.row_count()
        return watch, count, checksum(count)

    def get() -> Timed:
        watch = _Stopwatch()
        watch.start()
        found = system.get_each(workload.get_keys)
        watch.stop()
        ids = [system.ident(item) for item in found]
        return watch, len(ids), checksum(sorted(ids))

    def query_group(call: Callable[..., list[Any]], arguments: Sequence[tuple[Any, ...]]) -> Callable[[], Timed]:
        def body() -> Timed:
            watch, answers = _queries(system, call, arguments)
            return (watch, *_id_lists(answers))
        return body

    def group_count() -> Timed:
        watch = _Stopwatch()
        watch.start()
        pairs = system.count_by_city()
        watch.stop()
        normal = sorted((str(city), int(count)) for city, count in pairs)
        return watch, sum(count for _, count in normal), checksum(normal)

    def update() -> Timed:
        watch = _Stopwatch()
        watch.start()
        system.update_each(workload.updates)
        watch.stop()
        keys = [key for key, _, _ in workload.updates]
        seen = sorted((int(k), int(a), round(float(s), 6)) for k, a, s in system.snapshot(keys))
        expected = sorted((k, a, round(s, 6)) for k, a, s in workload.updates)
        if seen != expected:
            raise AssertionError(f"{system.label}: updated rows read back differently")
        return watch, len(seen), checksum(seen)

    def delete() -> Timed:
        watch = _Stopwatch()
        watch.start()
        system.delete_each(workload.delete_keys)
        watch.stop()
        left = system.snapshot(workload.delete_keys)
        if left:
            raise AssertionError(f"{system.label}: {len(left)} deleted rows are still there")
        count = system.row_count()
        return watch, count, checksum([count, len(left)])

    timed(insert_key, False, insert)
    gc.collect()
    after_insert = current_rss_mib()
    timed("get", True, get)
    timed("name_eq", True, query_group(system.by_name, [(x,) for x in workload.names]))
    timed("city_scan", True, query_group(system.by_city, [(x,) for x in workload.cities]))
    timed("age_range", True, query_group(system.age_between, workload.age_ranges))
    timed("or_query", True, query_group(system.age_below_or_name, workload.or_args))
    timed("group_count", True, group_count)
    timed("update", False, update)
    timed("delete", False, delete)
    return {
        "groups": groups,
        "rss_baseline_mib": baseline,
        "rss_before_insert_mib": before_insert,
        "rss_after_insert_mib": after_insert,
        "rss_peak_mib": peak_rss_mib(),
    }


def _profiled(body: Callable[[], Timed]) -> Timed:
    """Run ``body`` under cProfile and print the 30 costliest functions to stderr."""
    profiler = cProfile.Profile()
    result = profiler.runcall(body)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(30)
    return result
