"""The query planner of the memory engine: which rows to look at.

Given a WHERE tree and a table, :func:`candidate_keys` returns the primary
keys of a superset of the matching committed rows, using the primary key,
hash indexes (equality, ``in_``) and sorted indexes (ranges, ``between``),
intersecting for AND and uniting for OR; or None when only a full scan can
answer. The executor still evaluates the whole condition on every candidate,
so the planner may over-approximate but never drop a row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from pytuck.engines.memory.indexes import HashIndex, SortedIndex
from pytuck.query.expressions import (
    Between,
    BoolOp,
    ColumnRef,
    Comparison,
    Expression,
    InList,
    IsNull,
    Literal,
)

__all__ = ["candidate_keys", "plan", "Plan", "IndexedTable"]

_FLIPPED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


class IndexedTable(Protocol):
    """What the planner needs of a table store."""

    @property
    def primary_key(self) -> str:
        """The stored name of the key column."""

    @property
    def rows(self) -> Mapping[Any, Any]:
        """Committed rows by primary key."""

    @property
    def indexes(self) -> Mapping[str, HashIndex | SortedIndex]:
        """Secondary indexes by stored column name."""


def _column_and_constant(expr: Comparison) -> tuple[str, str, Any] | None:
    left, right, op = expr.left, expr.right, expr.op
    if isinstance(right, ColumnRef) and isinstance(left, Literal):
        left, right, op = right, left, _FLIPPED[op]
    if isinstance(left, ColumnRef) and isinstance(right, Literal) and right.value is not None:
        return left.name, op, right.value
    return None


def _key_spellings(value: Any) -> tuple[Any, ...]:
    # The executor compares datetimes on the UTC wall clock (naive read as
    # UTC); a dict of keys tells naive from aware, so look up both spellings.
    if isinstance(value, dt.datetime):
        offset = value.utcoffset()
        wall = value.replace(tzinfo=None) - (offset or dt.timedelta(0))
        return (wall, wall.replace(tzinfo=dt.timezone.utc))
    return (value,)


def _lookup(table: IndexedTable, column: str, value: Any) -> set[Any] | None:
    if column == table.primary_key:
        try:
            return {key for key in _key_spellings(value) if key in table.rows}
        except TypeError:
            return None
    index = table.indexes.get(column)
    if index is None:
        return None
    try:
        return set(index.equal(value))
    except TypeError:  # an unhashable literal cannot be in a hash index
        return None


Plan = tuple[set[Any] | None, bool]
_SCAN: Plan = (None, False)


def _plan(expr: Expression, table: IndexedTable) -> Plan:
    """(candidate keys or None for a scan, whether the keys are exactly the matches).

    Exact means every committed row with a listed key satisfies ``expr`` and
    no other row does, so the executor need not test ``expr`` again. Index
    lookups use the comparisons the executor uses (hash and ordering keys of
    indexes.py), and NULLs are never in a value lookup, as SQL's unknown
    excludes them.
    """
    if isinstance(expr, Comparison):
        found = _column_and_constant(expr)
        if found is None:
            return _SCAN
        column, op, value = found
        if op == "eq":
            keys = _lookup(table, column, value)
            return (keys, keys is not None)
        index = table.indexes.get(column)
        if not isinstance(index, SortedIndex) or op == "ne":
            return _SCAN
        if op in ("gt", "ge"):
            return (set(index.range(low=value, low_inclusive=op == "ge")), True)
        return (set(index.range(high=value, high_inclusive=op == "le")), True)
    if isinstance(expr, Between):
        operand = expr.operand
        if (
            isinstance(operand, ColumnRef)
            and isinstance(expr.low, Literal)
            and isinstance(expr.high, Literal)
            and expr.low.value is not None
            and expr.high.value is not None
        ):
            index = table.indexes.get(operand.name)
            if isinstance(index, SortedIndex):
                return (set(index.range(low=expr.low.value, high=expr.high.value)), True)
        return _SCAN
    if isinstance(expr, InList):
        if expr.negate or not isinstance(expr.operand, ColumnRef):
            return _SCAN
        if not all(isinstance(v, Literal) for v in expr.values):
            return _SCAN
        members: set[Any] = set()
        for value in expr.values:
            assert isinstance(value, Literal)
            if value.value is None:
                continue
            found_keys = _lookup(table, expr.operand.name, value.value)
            if found_keys is None:
                return _SCAN
            members |= found_keys
        return (members, True)
    if isinstance(expr, IsNull):
        if expr.negate or not isinstance(expr.operand, ColumnRef):
            return _SCAN
        index = table.indexes.get(expr.operand.name)
        if index is None:
            return _SCAN
        return (set(index.nulls), True)
    if isinstance(expr, BoolOp):
        if expr.op == "and":
            best: set[Any] | None = None
            exact = True
            for clause in expr.clauses:
                keys_for_clause, clause_exact = _plan(clause, table)
                if keys_for_clause is None:
                    exact = False
                    continue
                exact = exact and clause_exact
                best = keys_for_clause if best is None else best & keys_for_clause
                if not best:
                    return (best, True)  # an empty intersection matches nothing
            return (best, exact and best is not None)
        union: set[Any] = set()
        exact = True
        for clause in expr.clauses:
            keys_for_clause, clause_exact = _plan(clause, table)
            if keys_for_clause is None:
                return _SCAN
            exact = exact and clause_exact
            union |= keys_for_clause
        return (union, exact)
    return _SCAN


def candidate_keys(where: Expression | None, table: IndexedTable) -> set[Any] | None:
    """Keys of committed rows that may match ``where``, or None for a full scan."""
    return plan(where, table)[0]


def plan(where: Expression | None, table: IndexedTable) -> Plan:
    """Candidate keys of committed rows for ``where`` (None: scan) and whether they are exact."""
    if where is None:
        return _SCAN
    return _plan(where, table)
