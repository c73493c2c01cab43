"""Secondary indexes of the memory engine: hash (equality) and sorted (ranges).

Both map column values to primary keys of committed rows and keep the keys of
rows whose value is NULL apart, since NULL equals nothing and sorts apart
(DESIGN.md, NULL is SQL NULL; Ordering).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["HashIndex", "SortedIndex", "order_key_for"]


_UTC = dt.timezone.utc


def _datetime_key(value: Any) -> Any:
    # Comparing aware values with naive ones must not raise, so both are
    # ordered on the naive UTC wall clock. Stored aware values are already in
    # UTC, but a literal (``literal(when)``) may carry any offset: shift it,
    # or 14:00+02:00 would sort as 14:00 instead of 12:00 UTC.
    zone = value.tzinfo
    if zone is None:
        return value
    if zone is not _UTC:
        offset = value.utcoffset()
        if offset:
            return value.replace(tzinfo=None) - offset
    return value.replace(tzinfo=None)


def order_key_for(tp: type | None) -> Callable[[Any], Any] | None:
    """The key that orders values of ``tp`` as the contract says, or None for identity."""
    if tp is dt.datetime:
        return _datetime_key
    return None


class HashIndex:
    """Value -> set of primary keys, for equality and ``in_``.

    Values are bucketed by the same key the executor compares them with
    (:func:`order_key_for`), so an index lookup and a scan agree on which
    values are equal (a naive and an aware datetime naming one UTC instant).
    """

    kind = "hash"

    def __init__(self, column: str, value_type: type | None = None) -> None:
        self.column = column
        self.key = order_key_for(value_type)
        self.buckets: dict[Any, set[Any]] = {}
        self.nulls: set[Any] = set()

    def add(self, value: Any, pk: Any) -> None:
        """Record that row ``pk`` holds ``value``."""
        if value is None:
            self.nulls.add(pk)
            return
        if self.key is not None:
            value = self.key(value)
        self.buckets.setdefault(value, set()).add(pk)

    def remove(self, value: Any, pk: Any) -> None:
        """Forget that row ``pk`` holds ``value``."""
        if value is None:
            self.nulls.discard(pk)
            return
        if self.key is not None:
            value = self.key(value)
        bucket = self.buckets.get(value)
        if bucket is not None:
            bucket.discard(pk)
            if not bucket:
                del self.buckets[value]

    def equal(self, value: Any) -> set[Any]:
        """Keys of rows whose value equals ``value``."""
        if self.key is not None:
            value = self.key(value)
        return self.buckets.get(value, set())

    def rebuild(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Replace the content with ``(value, pk)`` pairs."""
        self.buckets = {}
        self.nulls = set()
        for value, pk in pairs:
            self.add(value, pk)


class SortedIndex:
    """Sorted values with their primary keys, for ranges and ordering.

    ``keys`` and ``pks`` are parallel lists kept in (key, primary key) order,
    so a range is two bisects and a slice, and finding one row's entry is
    three bisects.
    """

    kind = "sorted"

    def __init__(self, column: str, value_type: type) -> None:
        self.column = column
        self.key = order_key_for(value_type)
        self.keys: list[Any] = []
        self.pks: list[Any] = []
        self.nulls: set[Any] = set()
        # Equality lookups come from a hash map kept alongside: cheaper than bisects.
        self.hash = HashIndex(column, value_type)

    def _k(self, value: Any) -> Any:
        return self.key(value) if self.key is not None else value

    def add(self, value: Any, pk: Any) -> None:
        """Record that row ``pk`` holds ``value``."""
        self.hash.add(value, pk)
        if value is None:
            self.nulls.add(pk)
            return
        key = self._k(value)
        low = bisect_left(self.keys, key)
        high = bisect_right(self.keys, key, lo=low)
        # Within a run of equal keys, primary keys stay sorted, so remove()
        # finds one by bisection instead of scanning the run.
        position = bisect_left(self.pks, pk, low, high)
        self.keys.insert(position, key)
        self.pks.insert(position, pk)

    def remove(self, value: Any, pk: Any) -> None:
        """Forget that row ``pk`` holds ``value``."""
        self.hash.remove(value, pk)
        if value is None:
            self.nulls.discard(pk)
            return
        key = self._k(value)
        low = bisect_left(self.keys, key)
        high = bisect_right(self.keys, key, lo=low)
        position = bisect_left(self.pks, pk, low, high)
        if position < high and self.pks[position] == pk:
            del self.keys[position]
            del self.pks[position]

    def equal(self, value: Any) -> set[Any]:
        """Keys of rows whose value equals ``value``."""
        return self.hash.equal(value)

    def range(
        self,
        low: Any = None,
        high: Any = None,
        low_inclusive: bool = True,
        high_inclusive: bool = True,
    ) -> list[Any]:
        """Keys of rows with low <(=) value <(=) high; a None bound is open."""
        if low is None:
            start = 0
        else:
            k = self._k(low)
            start = bisect_left(self.keys, k) if low_inclusive else bisect_right(self.keys, k)
        if high is None:
            stop = len(self.keys)
        else:
            k = self._k(high)
            stop = bisect_right(self.keys, k) if high_inclusive else bisect_left(self.keys, k)
        return self.pks[start:stop] if start < stop else []

    def in_order(self, descending: bool) -> Iterator[Any]:
        """Primary keys of non-NULL rows in value order."""
        return reversed(self.pks) if descending else iter(self.pks)

    def rebuild(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Replace the content with ``(value, pk)`` pairs, sorting once."""
        self.nulls = set()
        self.hash.rebuild(())
        entries = []
        for value, pk in pairs:
            self.hash.add(value, pk)
            if value is None:
                self.nulls.add(pk)
            else:
                entries.append((self._k(value), pk))
        entries.sort()  # by key, then primary key (see add())
        self.keys = [entry[0] for entry in entries]
        self.pks = [entry[1] for entry in entries]
