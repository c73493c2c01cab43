"""Cross-checking the systems' answers and rendering the results tables (workload and file suite)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from benchmarks.harness import OPERATIONS

__all__ = ["comparison_sets", "files_markdown", "find_mismatches", "markdown"]

#: Which group's answers a group must equal (the bulk_insert variant inserts the same rows).
_SAME_ANSWER_AS = {"insert_bulk_api": "insert"}


def find_mismatches(results: Sequence[dict[str, Any]]) -> list[str]:
    """Every disagreement between systems: data digests, then answers per group.

    Returns:
        One line per disagreement, empty when every system agrees.
    """
    problems = []
    digests = {_name(r): r["data_digest"] for r in results}
    if len(set(digests.values())) > 1:
        problems.append(f"data differs between processes: {digests}")
    answers: dict[str, dict[str, tuple[int, str]]] = {}
    for result in results:
        for key, group in result["groups"].items():
            target = _SAME_ANSWER_AS.get(key, key)
            answers.setdefault(target, {})[_name(result)] = (
                group["count"], group["checksum"]
            )
    for key, by_system in answers.items():
        if len(set(by_system.values())) > 1:
            shown = ", ".join(f"{name}={count}/{digest}" for name, (count, digest) in by_system.items())
            problems.append(f"{key}: answers differ: {shown}")
    return problems


def _name(result: dict[str, Any]) -> str:
    variant = result.get("variant")
    return f"{result['label']} ({variant})" if variant else str(result["label"])


#: Table titles per comparison kind, in report order.
_TITLES = {
    "memory": "In memory",
    "file": "In files: the binary and json engines beside SQLite files",
    "sqlite": "SQLite: the sqlite engine beside raw sqlite3 and the ORMs on SQLite files",
    "duckdb": "DuckDB: the duckdb engine beside raw duckdb and SQLAlchemy on DuckDB files",
    "postgresql": "PostgreSQL: the postgresql engine beside raw asyncpg and SQLAlchemy (psycopg)",
}


def _kind(result: dict[str, Any]) -> str:
    """The comparison a pytuck result belongs to: its storage class, with the sqlite engine apart."""
    if result["storage_class"] == "file" and result["system"] == "pytuck:sqlite":
        return "sqlite"
    return str(result["storage_class"])


def comparison_sets(results: Sequence[dict[str, Any]]) -> list[tuple[str, list[str], list[str]]]:
    """How the results are split into tables: ``(title, pytuck labels, peer labels)``.

    Each pytuck engine is compared with the peers of its storage class:
    in-memory engines with in-memory peers; the binary and json engines, and
    apart from them the sqlite engine, with the peers on SQLite files (TinyDB's
    JSON file too, for binary and json); duckdb with the DuckDB peers;
    postgresql with the PostgreSQL peers. With no engine at all, the peers
    share one table.
    """
    engines = [r for r in results if r["system"].startswith("pytuck:") and not r.get("variant")]
    peers = [r for r in results if not r["system"].startswith("pytuck:")]
    sets = []
    for kind, title in _TITLES.items():
        mine = [r["label"] for r in engines if _kind(r) == kind]
        if not mine:
            continue
        peer_class = "file" if kind == "sqlite" else kind
        theirs = [p["label"] for p in peers if p["storage_class"] == peer_class
                  and not (kind == "sqlite" and p["system"] == "tinydb")]
        sets.append((title, mine, theirs))
    if not engines and peers:
        sets.append(("Peers", [], [p["label"] for p in peers]))
    return sets


def _after_insert(result: dict[str, Any]) -> float | None:
    after = result.get("rss_after_insert_mib")
    before = result.get("rss_before_insert_mib")
    return None if after is None or before is None else float(after) - float(before)


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(mine: float | None, theirs: float | None) -> str:
    if mine is None or theirs is None or theirs <= 0:
        return "—"
    ratio = mine / theirs
    if ratio >= 10:
        return f"{ratio:.0f}x"
    if ratio >= 0.1:
        return f"{ratio:.2f}x"
    return f"{ratio:.2g}x" if ratio > 0 else "0x"


def markdown(results: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results as markdown: settings, one table per storage class, and the notes."""
    full = [r for r in results if not r.get("variant")]
    by_label = {r["label"]: r for r in full}
    bulk_api = {r["label"]: r for r in results if r.get("variant") == "bulk_insert"}
    out = [
        f"N = {meta['n']:,} rows, seed {meta['seed']}; cyclic gc: {meta['gc_text']}; "
        f"read groups: median of up to {meta['repeat']} repetitions (fewer once a group's "
        f"repetitions took {meta['budget']:g} s), write groups run once.",
    ]
    for title, engines, peers in comparison_sets(results):
        out += ["", f"### {title}", "", _table(engines, peers, by_label, bulk_api, meta["n"])]
        out += [
            "",
            f"{title}, CPU time of the same groups (`time.process_time`, ms): the machine's "
            "other load does not inflate it, but it leaves out time spent waiting "
            "(fsync, a server):",
            "",
            _table(engines, peers, by_label, bulk_api, meta["n"], field="median_cpu_ms"),
        ]
    out += [
        "",
        "Times are milliseconds for the whole group (all its ops). A ratio column "
        "`engine/peer` is the pytuck engine's time (or memory) divided by the peer's: "
        "below 1x pytuck is faster or smaller. Every system returned the same answer for "
        "every group (row count and a digest of the sorted id lists: the answer column). "
        "Peak RSS is the process's peak resident set size (`ru_maxrss`); growth is that "
        "peak minus the peak before the insert (interpreter, libraries, the generated "
        "rows and the empty table); growth after the insert is the resident size right "
        "after the bulk insert and a full collection minus the resident size just before "
        "it: roughly what holding the table costs, without the insert's transient objects.",
    ]
    if bulk_api:
        out += [
            "",
            "The `Session.bulk_insert` row comes from a separate insert-only process; its "
            "ratios compare it with each peer's own bulk insert (first row).",
        ]
    out += ["", "Systems:", ""]
    for key, why in meta.get("skipped_peers", {}).items():
        out.append(f"- **{key}**: not run: {why}.")
    for r in full:
        reps = [g["reps"] for key, g in r["groups"].items() if key not in ("insert", "update", "delete")]
        versions = ", ".join(f"{k} {v}" for k, v in r.get("versions", {}).items())
        wall = sum(sum(g["times_ms"]) for g in r["groups"].values())
        cpu = sum(sum(g.get("cpu_ms", [])) for g in r["groups"].values())
        python = "" if not r.get("python") or r["python"] == sys.executable else f" Run by {r['python']}."
        out.append(
            f"- **{r['label']}** ({versions}): {r['notes']}.{python} Fewest repetitions of a read "
            f"group: {min(reps) if reps else 0}; CPU/wall over its timed groups "
            f"{cpu / wall if wall else 0:.2f}; process wall time {r['wall_s']:.1f} s."
        )
    return "\n".join(out) + "\n"


def _table(
    engines: list[str],
    peers: list[str],
    by_label: dict[str, dict[str, Any]],
    bulk_api: dict[str, dict[str, Any]],
    n: int,
    field: str = "median_ms",
) -> str:
    labels = engines + peers
    pairs = [(mine, peer) for mine in engines for peer in peers]

    def median(label: str, key: str) -> float | None:
        source = bulk_api.get(label) if key == "insert_bulk_api" else by_label.get(label)
        group = source["groups"].get(key) if source else None
        return None if group is None or field not in group else float(group[field])

    def base(peer: str, key: str) -> float | None:
        # The bulk_insert row is compared with each peer's own bulk insert.
        return median(peer, "insert" if key == "insert_bulk_api" else key)

    header = ["operation", "ops", "answer (rows · checksum)"] + labels
    header += [f"{mine.removeprefix('pytuck:')}/{peer}" for mine, peer in pairs]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|",
    ]
    reference = by_label[labels[0]]
    for op in OPERATIONS:
        if op.key == "insert_bulk_api" and not any(label in bulk_api for label in engines):
            continue
        group = reference["groups"].get(_SAME_ANSWER_AS.get(op.key, op.key))
        if group is None:
            continue
        cells = [op.label.replace("N rows", f"{n:,} rows"), f"{group['ops']:,}",
                 f"{group['count']:,} · `{group['checksum']}`"]
        cells += [_ms(median(label, op.key)) for label in labels]
        cells += [_ratio(median(mine, op.key), base(peer, op.key)) for mine, peer in pairs]
        lines.append("| " + " | ".join(cells) + " |")
    if field != "median_ms":
        return "\n".join(lines)
    memory_rows = (
        ("peak RSS (MiB)", lambda r: r["rss_peak_mib"]),
        ("RSS growth during the workload (MiB)", lambda r: r["rss_peak_mib"] - r["rss_baseline_mib"]),
        ("RSS growth, after the insert (MiB)", _after_insert),
    )
    for title, read in memory_rows:
        values = {label: read(by_label[label]) for label in labels}
        cells = [title, "", ""] + ["—" if values[label] is None else f"{values[label]:,.0f}" for label in labels]
        cells += [_ratio(values[mine], values[peer]) for mine, peer in pairs]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: float | None, digits: str = "ms") -> str:
    return "—" if value is None else _ms(value)


def _get(data: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


#: The on-disk format of the systems compared format to format: pytuck's binary
#: engine with Pytuck 1.4's binary engine and the msgpack blob, the json engine
#: with Pytuck 1.4's json engine and the JSON blob; the rest with both.
_FORMAT = {"pytuck:binary": "binary", "pytuck14:pytuck": "binary", "msgpack": "binary",
           "pytuck:json": "json", "pytuck14:json": "json", "orjson": "json"}


def _comparable(engine: str, other: str) -> bool:
    """Whether the ratio table compares pytuck engine ``engine`` with system ``other``."""
    if other.startswith("pytuck:"):
        return False
    mine, theirs = _FORMAT.get(engine), _FORMAT.get(other)
    return mine is None or theirs is None or mine == theirs


def _counted(result: dict[str, Any], part: str, median: float | None) -> str:
    count = _get(result, "commits", part, "commits")
    return "—" if median is None else f"{_ms(median)} ({count})"


def files_markdown(files: dict[str, Any]) -> str:
    """The file suite as markdown: settings, the figures per system, the ratios, the notes."""
    settings = files["settings"]
    n = settings["n"]
    systems = files["systems"]
    out = [
        "### File suite: durable commits, open and first query, size on disk",
        "",
        f"N = {n:,} rows; probe key {settings['key']}; open + first query: median of "
        f"{settings['probe_repeat']} fresh processes each; single-row commits into the 1,000-row "
        f"and the N-row database: at most {settings['commits']}, stopped after "
        f"{settings['budget_s']:g} s (at least 5); 2,000 inserts into an empty database: all of "
        "them. Commit times are per commit, cyclic gc paused. The sync floor alongside is 200 "
        "appends + fdatasync measured in the same process just before the system's commits (the "
        "disk's sync latency drifts over minutes on a shared machine).",
        "",
    ]
    header = [
        "system", "2,000 durable inserts, total (s)", "per insert, median (µs)", "p90 (µs)",
        "sync floor alongside, median (µs)", "insert / floor",
        "commit into 1,000 rows, median (µs)", f"commit into {n:,} rows, median (µs)",
        f"{n:,} / 1,000", "open + first get, fresh process (ms)", "import (ms)",
        "RSS to open (MiB)", f"size, {n:,} rows (MB)", "size, 2,000 inserted rows (KB)",
        f"build {n:,} rows + close (s)",
    ]
    out += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for r in systems.values():
        small = _get(r, "commits", "small", "median_us")
        large = _get(r, "commits", "large", "median_us")
        total = _get(r, "commits", "inserts", "total_ms")
        size = _get(r, "build", "large", "bytes")
        size_2k = _get(r, "commits", "inserts", "bytes")
        build = _get(r, "build", "large", "build_ms")

        cells = [
            f"**{r['label']}**",
            "—" if total is None else f"{total / 1000:.2f}",
            _cell(_get(r, "commits", "inserts", "median_us")),
            _cell(_get(r, "commits", "inserts", "p90_us")),
            _cell(_get(r, "commits", "floor", "median_us")),
            _ratio(_get(r, "commits", "inserts", "median_us"), _get(r, "commits", "floor", "median_us")),
            _counted(r, "small", small),
            _counted(r, "large", large),
            "—" if small is None or large is None else f"{large / small:.2f}x",
            _cell(_get(r, "probe", "open_get_ms")),
            _cell(_get(r, "probe", "import_ms")),
            _cell(_get(r, "probe", "rss_open_mib")),
            "—" if size is None else f"{size / 1e6:.2f}",
            "—" if size_2k is None else f"{size_2k / 1e3:.0f}",
            "—" if build is None else f"{build / 1000:.2f}",
        ]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "In parentheses: the commits made. Ratios, pytuck engine / other system (below 1x "
            "pytuck is faster or smaller):", ""]
    measures = [
        ("durable insert (median)", ("commits", "inserts", "median_us")),
        ("commit into 1,000 rows", ("commits", "small", "median_us")),
        (f"commit into {n:,} rows", ("commits", "large", "median_us")),
        ("open + first get", ("probe", "open_get_ms")),
        (f"size, {n:,} rows", ("build", "large", "bytes")),
    ]
    out += ["| pytuck / other | " + " | ".join(label for label, _ in measures) + " |",
            "|---|" + "---:|" * len(measures)]
    mine = [name for name in systems if name.startswith("pytuck:")]
    for engine in mine:
        for other in systems:
            if not _comparable(engine, other):
                continue
            cells = [_ratio(_get(systems[engine], *path), _get(systems[other], *path)) for _, path in measures]
            if all(cell == "—" for cell in cells):
                continue
            out.append(f"| {systems[engine]['label']} / {systems[other]['label']} | " + " | ".join(cells) + " |")
    out += ["", "Systems of the file suite:", ""]
    for r in systems.values():
        versions = ", ".join(f"{k} {v}" for k, v in r.get("versions", {}).items())
        python = "" if r.get("python") == sys.executable else f" Run by {r['python']}."
        out.append(f"- **{r['label']}** ({versions}): {r['notes']}.{python}")
    for name, why in files["skipped"].items():
        out.append(f"- **{name}**: not run: {why}.")
    for name, why in files.get("failed", {}).items():
        out.append(f"- **{name}**: FAILED: {why}.")
    return "\n".join(out) + "\n"
