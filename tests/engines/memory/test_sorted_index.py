"""The chunked sorted index agrees with a plain sorted list under any edit sequence."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pytuck.engines.memory.indexes import SortedIndex

values = st.one_of(st.none(), st.integers(0, 12))
edits = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "rebuild"]), st.integers(0, 80), values),
    max_size=250,
)


def _replay(steps: list[tuple[str, int, Any]]) -> tuple[SortedIndex, dict[int, Any]]:
    index = SortedIndex("c", int)
    index.CHUNK = 3  # tiny chunks: splits and emptied chunks happen constantly
    held: dict[int, Any] = {}
    for action, pk, value in steps:
        if action == "add" and pk not in held:
            held[pk] = value
            index.add(value, pk)
        elif action == "remove" and pk in held:
            index.remove(held.pop(pk), pk)
        elif action == "rebuild":
            index.rebuild((v, k) for k, v in held.items())
    return index, held


@given(edits)
def test_order_matches_a_sorted_list(steps: list[tuple[str, int, Any]]) -> None:
    index, held = _replay(steps)
    entries = sorted((v, k) for k, v in held.items() if v is not None)
    assert list(index.in_order(descending=False)) == [k for _, k in entries]
    assert list(index.in_order(descending=True)) == [k for _, k in reversed(entries)]
    assert index.nulls == {k for k, v in held.items() if v is None}
    assert len(index) == len(entries)


@given(edits, st.integers(-1, 13), st.integers(-1, 13), st.booleans(), st.booleans())
def test_ranges_match_a_sorted_list(
    steps: list[tuple[str, int, Any]], a: int, b: int, low_in: bool, high_in: bool
) -> None:
    index, held = _replay(steps)
    low, high = min(a, b), max(a, b)
    entries = sorted((v, k) for k, v in held.items() if v is not None)

    def inside(v: int) -> bool:
        above = v >= low if low_in else v > low
        below = v <= high if high_in else v < high
        return above and below

    assert index.range(low, high, low_in, high_in) == [k for v, k in entries if inside(v)]
    assert index.range(None, high) == [k for v, k in entries if v <= high]
    assert index.range(low, None) == [k for v, k in entries if v >= low]


def test_removing_an_absent_entry_changes_nothing() -> None:
    index = SortedIndex("c", int)
    index.add(5, 1)
    index.remove(5, 2)
    index.remove(6, 1)
    assert list(index.in_order(descending=False)) == [1]
