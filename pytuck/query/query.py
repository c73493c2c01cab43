"""``Query``: the chainable ``session.query(User)`` façade over :func:`select`.

A Query holds a :class:`~pytuck.query.statements.Select` and something that
executes statements (a session); each builder returns a new Query, each
terminal method (``all``, ``first``, ``count`` ...) runs one statement.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar

from pytuck.errors import MultipleResultsFound, NoResultFound, QueryError
from pytuck.query.functions import func
from pytuck.query.result import CursorResult, Result
from pytuck.query.statements import Select, delete, update

__all__ = ["Query", "StatementRunner"]

T = TypeVar("T")


class StatementRunner(Protocol):
    """What a Query needs: something that runs statements (a Session)."""

    def execute(self, statement: Any) -> Any:
        """Run a statement and return its result."""

    def get(self, model: Any, pk: Any) -> Any:
        """Load one instance by primary key, or None."""


class Query(Generic[T]):
    """A chainable query. Build it with ``session.query(User)``.

    Example::

        adults = session.query(User).filter(User.age >= 18).order_by(User.name).all()
    """

    def __init__(self, runner: StatementRunner, statement: Select[T]) -> None:
        self._runner = runner
        self._statement = statement

    def _with(self, statement: Select[T]) -> Query[T]:
        return Query(self._runner, statement)

    @property
    def statement(self) -> Select[T]:
        """The SELECT this query runs."""
        return self._statement

    # --- builders ---
    def filter(self, *conditions: Any) -> Query[T]:
        """Add conditions that must all hold."""
        return self._with(self._statement.where(*conditions))

    where = filter

    def filter_by(self, **values: Any) -> Query[T]:
        """Equality conditions by attribute name."""
        return self._with(self._statement.filter_by(**values))

    def order_by(self, *terms: Any, desc: bool = False) -> Query[T]:
        """Order the rows (``order_by(User.age.desc())`` or ``order_by("age", desc=True)``)."""
        return self._with(self._statement.order_by(*terms, desc=desc))

    def limit(self, count: int | None) -> Query[T]:
        """Return at most ``count`` rows."""
        return self._with(self._statement.limit(count))

    def offset(self, count: int | None) -> Query[T]:
        """Skip the first ``count`` rows."""
        return self._with(self._statement.offset(count))

    def distinct(self, flag: bool = True) -> Query[T]:
        """Drop duplicate rows."""
        return self._with(self._statement.distinct(flag))

    def group_by(self, *terms: Any) -> Query[T]:
        """Fold rows with equal ``terms``."""
        return self._with(self._statement.group_by(*terms))

    def having(self, *conditions: Any) -> Query[T]:
        """Conditions on folded rows."""
        return self._with(self._statement.having(*conditions))

    # --- terminal methods ---
    def _result(self) -> Result[T]:
        result: Result[T] = self._runner.execute(self._statement)
        return result

    def all(self) -> list[T]:
        """Every matching instance (or row)."""
        return self._result().all()

    def __iter__(self) -> Iterator[T]:
        return iter(self.all())

    def first(self) -> T | None:
        """The first match, or None (adds ``LIMIT 1``)."""
        return self.limit(1)._result().first()

    def one(self) -> T:
        """Exactly one match.

        Raises:
            NoResultFound: none matched.
            MultipleResultsFound: more than one matched.
        """
        items = self.limit(2)._result().all()
        if not items:
            raise NoResultFound(f"one(): no {self._describe()} matched")
        if len(items) > 1:
            raise MultipleResultsFound(f"one(): more than one {self._describe()} matched")
        return items[0]

    def one_or_none(self) -> T | None:
        """The only match, or None.

        Raises:
            MultipleResultsFound: more than one matched.
        """
        items = self.limit(2)._result().all()
        if len(items) > 1:
            raise MultipleResultsFound(
                f"one_or_none(): more than one {self._describe()} matched"
            )
        return items[0] if items else None

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self.limit(1)._result().scalar()

    def count(self) -> int:
        """How many rows match."""
        statement = self._statement
        if (
            statement.limit_count is not None
            or statement.offset_count
            or statement.is_distinct
            or statement.group_terms
        ):
            return len(self._result().all())
        counter: Select[Any] = Select((func.count(),), table=statement.table)
        counter.where_clause = statement.where_clause
        result: Result[Any] = self._runner.execute(counter)
        return int(result.scalar() or 0)

    def exists(self) -> bool:
        """True when at least one row matches."""
        return bool(self.limit(1)._result().all())

    def get(self, pk: Any) -> T | None:
        """The instance with primary key ``pk`` (identity map first), or None."""
        entity = self._statement.single_entity
        if entity is None:
            raise QueryError("get() needs a query of one model")
        found: T | None = self._runner.get(entity, pk)
        return found

    def _plain_target(self, what: str) -> Any:
        statement = self._statement
        entity = statement.single_entity
        if entity is None:
            raise QueryError(f"{what}() needs a query of one model")
        if statement.limit_count is not None or statement.offset_count or statement.order_terms:
            raise QueryError(f"{what}() cannot follow limit(), offset() or order_by()")
        return entity

    def update(self, values: Mapping[str, Any]) -> int:
        """Set ``values`` (attribute name -> value or expression) on every match; return the count."""
        entity = self._plain_target("update")
        statement = update(entity).values(dict(values))
        if self._statement.where_clause is not None:
            statement = statement.where(self._statement.where_clause)
        result: CursorResult = self._runner.execute(statement)
        return int(result.rowcount)

    def delete(self) -> int:
        """Delete every match; return the count."""
        entity = self._plain_target("delete")
        statement = delete(entity)
        if self._statement.where_clause is not None:
            statement = statement.where(self._statement.where_clause)
        result: CursorResult = self._runner.execute(statement)
        return int(result.rowcount)

    def _describe(self) -> str:
        entity = self._statement.entity
        return entity.__name__ if entity is not None else "row"

    def __repr__(self) -> str:
        return f"<Query {self._describe()} where={self._statement.where_clause!r}>"
