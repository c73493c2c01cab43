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

    Entries are kept in (key, primary key) order, split into chunks of at
    most ``2 * CHUNK`` entries: each chunk holds parallel ``keys`` and ``pks``
    lists, and ``maxkeys``/``maxpks`` hold every chunk's last entry. Finding
    an entry is a bisect over the chunks and two within one; inserting or
    removing one moves at most one chunk's entries, not the whole index
    (a flat list of 100,000 entries costs a 800 KB memmove per change).
    """

    kind = "sorted"

    #: Target chunk size; a chunk splits when it reaches twice this.
    CHUNK = 1000

    def __init__(self, column: str, value_type: type) -> None:
        self.column = column
        self.key = order_key_for(value_type)
        self.chunk_keys: list[list[Any]] = []
        self.chunk_pks: list[list[Any]] = []
        self.maxkeys: list[Any] = []
        self.maxpks: list[Any] = []
        self.nulls: set[Any] = set()
        # Equality lookups come from a hash map kept alongside: cheaper than bisects.
        self.hash = HashIndex(column, value_type)

    def _k(self, value: Any) -> Any:
        return self.key(value) if self.key is not None else value

    def __len__(self) -> int:
        return sum(len(keys) for keys in self.chunk_keys)

    def _chunk_for(self, key: Any, pk: Any) -> int:
        # The first chunk whose last entry is >= (key, pk); the last chunk if none.
        maxkeys = self.maxkeys
        index = bisect_left(maxkeys, key)
        maxpks = self.maxpks
        while index < len(maxkeys) and maxkeys[index] == key and maxpks[index] < pk:
            index += 1
        return min(index, len(maxkeys) - 1)

    def add(self, value: Any, pk: Any) -> None:
        """Record that row ``pk`` holds ``value``."""
        self.hash.add(value, pk)
        if value is None:
            self.nulls.add(pk)
            return
        key = self._k(value)
        if not self.chunk_keys:
            self.chunk_keys.append([key])
            self.chunk_pks.append([pk])
            self.maxkeys.append(key)
            self.maxpks.append(pk)
            return
        index = self._chunk_for(key, pk)
        keys = self.chunk_keys[index]
        pks = self.chunk_pks[index]
        low = bisect_left(keys, key)
        high = bisect_right(keys, key, lo=low)
        # Within a run of equal keys, primary keys stay sorted, so remove()
        # finds one by bisection instead of scanning the run.
        position = bisect_left(pks, pk, low, high)
        keys.insert(position, key)
        pks.insert(position, pk)
        if position == len(keys) - 1:
            self.maxkeys[index] = key
            self.maxpks[index] = pk
        if len(keys) >= 2 * self.CHUNK:
            self._split(index)

    def _split(self, index: int) -> None:
        keys = self.chunk_keys[index]
        pks = self.chunk_pks[index]
        half = len(keys) // 2
        self.chunk_keys[index:index + 1] = [keys[:half], keys[half:]]
        self.chunk_pks[index:index + 1] = [pks[:half], pks[half:]]
        self.maxkeys[index:index + 1] = [keys[half - 1], keys[-1]]
        self.maxpks[index:index + 1] = [pks[half - 1], pks[-1]]

    def remove(self, value: Any, pk: Any) -> None:
        """Forget that row ``pk`` holds ``value``."""
        self.hash.remove(value, pk)
        if value is None:
            self.nulls.discard(pk)
            return
        if not self.chunk_keys:
            return
        key = self._k(value)
        index = self._chunk_for(key, pk)
        keys = self.chunk_keys[index]
        pks = self.chunk_pks[index]
        low = bisect_left(keys, key)
        high = bisect_right(keys, key, lo=low)
        position = bisect_left(pks, pk, low, high)
        if position >= high or pks[position] != pk:
            return
        del keys[position]
        del pks[position]
        if not keys:
            del self.chunk_keys[index], self.chunk_pks[index]
            del self.maxkeys[index], self.maxpks[index]
        elif position == len(keys):
            self.maxkeys[index] = keys[-1]
            self.maxpks[index] = pks[-1]

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
        low_key = None if low is None else self._k(low)
        high_key = None if high is None else self._k(high)
        if low_key is None:
            first = 0
        elif low_inclusive:
            first = bisect_left(self.maxkeys, low_key)
        else:
            first = bisect_right(self.maxkeys, low_key)
        found: list[Any] = []
        for index in range(first, len(self.chunk_keys)):
            keys = self.chunk_keys[index]
            if low_key is None:
                start = 0
            elif low_inclusive:
                start = bisect_left(keys, low_key)
            else:
                start = bisect_right(keys, low_key)
            if high_key is None:
                stop = len(keys)
            elif high_inclusive:
                stop = bisect_right(keys, high_key, lo=start)
            else:
                stop = bisect_left(keys, high_key, lo=start)
            if start < stop:
                found.extend(self.chunk_pks[index][start:stop])
            if stop < len(keys):
                break  # this chunk passed the upper bound: later ones do too
        return found

    def in_order(self, descending: bool) -> Iterator[Any]:
        """Primary keys of non-NULL rows in value order."""
        if descending:
            return (pk for pks in reversed(self.chunk_pks) for pk in reversed(pks))
        return (pk for pks in self.chunk_pks for pk in pks)

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
        size = self.CHUNK
        self.chunk_keys = [[e[0] for e in entries[i:i + size]] for i in range(0, len(entries), size)]
        self.chunk_pks = [[e[1] for e in entries[i:i + size]] for i in range(0, len(entries), size)]
        self.maxkeys = [keys[-1] for keys in self.chunk_keys]
        self.maxpks = [pks[-1] for pks in self.chunk_pks]
