"""Cross-checking the systems' answers and rendering the results table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.harness import OPERATIONS

__all__ = ["comparison_sets", "find_mismatches", "markdown"]

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


def comparison_sets(results: Sequence[dict[str, Any]]) -> list[tuple[str, list[str], list[str]]]:
    """How the results are split into tables: ``(title, pytuck labels, peer labels)``.

    Each pytuck engine is compared with the peers stored the same way
    (in-memory engines with in-memory peers, file engines with file peers);
    engines with no such peer are compared with every peer. With no engine at
    all, the peers share one table.
    """
    engines = [r for r in results if r["system"].startswith("pytuck:") and not r.get("variant")]
    peers = [r for r in results if not r["system"].startswith("pytuck:")]
    titles = {"memory": "In memory", "file": "In files"}
    sets = []
    for storage_class in ("memory", "file"):
        mine = [r["label"] for r in engines if r["storage_class"] == storage_class]
        if not mine:
            continue
        theirs = [p["label"] for p in peers if p["storage_class"] == storage_class]
        sets.append((titles[storage_class], mine, theirs or [p["label"] for p in peers]))
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
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.0f}x"


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
    for r in full:
        reps = [g["reps"] for key, g in r["groups"].items() if key not in ("insert", "update", "delete")]
        versions = ", ".join(f"{k} {v}" for k, v in r.get("versions", {}).items())
        wall = sum(sum(g["times_ms"]) for g in r["groups"].values())
        cpu = sum(sum(g.get("cpu_ms", [])) for g in r["groups"].values())
        out.append(
            f"- **{r['label']}** ({versions}): {r['notes']}. Fewest repetitions of a read "
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
