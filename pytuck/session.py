"""``Session``: identity map, unit of work and transactions over one storage.

A session keeps one engine transaction open from its first use until
``commit()`` or ``rollback()``. Instances added or changed are written at
flush (before every query, when autoflush is on, and at commit). Rollback
undoes everything since the transaction began, flushed rows and executed
``update``/``delete`` statements included, and puts instances back in step:
rows inserted in the transaction become transient again, rows deleted in it
come back, and every other instance is expired so it reloads on next access.

After ``commit()`` instances keep their values (they stay readable once the
session is closed), but the next ``get()`` or query that loads their row in
a later transaction refreshes them, unless they hold unflushed changes.
``close()`` rolls back without expiring: detached instances stay readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, overload

from pytuck import events, unit_of_work
from pytuck.engines.base import EngineTransaction
from pytuck.errors import (
    DetachedInstanceError,
    QueryError,
    RecordNotFoundError,
    TransactionError,
    ValidationError,
)
from pytuck.model.base import Model, model_key
from pytuck.model.state import (
    DELETED,
    DETACHED,
    PENDING,
    PERSISTENT,
    STATE_ATTR,
    TRANSIENT,
    InstanceState,
    state_of,
)
from pytuck.query.expressions import ColumnRef, Expression, FunctionCall, Label
from pytuck.query.query import Query
from pytuck.query.result import CursorResult, Result, Row, ScalarResult, row_class
from pytuck.query.statements import Delete, Entity, Insert, Select, Update, select
from pytuck.storage import Storage

__all__ = ["Session"]

M = TypeVar("M", bound=Model)
T = TypeVar("T")


class _Savepoint:
    """Session bookkeeping at a savepoint, to undo it alongside the engine."""

    __slots__ = ("token", "inserted", "removed")

    def __init__(self, token: Any, inserted: int, removed: int) -> None:
        self.token = token
        self.inserted = inserted
        self.removed = removed


class Session:
    """A unit of work on a :class:`~pytuck.Storage`. Use one session per thread.

    Args:
        storage: the database.
        autoflush: flush pending changes before each query (default True).
        autocommit: commit after every ``add``/``delete`` (Pytuck 1.x option).

    ``with Session(db) as s:`` commits when the block ends normally, rolls
    back when it raises (as Pytuck 1.x does), and closes the session.

    Example::

        with Session(db) as session:
            session.add(User(name="Ann"))
            session.commit()
            session.query(User).filter(User.name == "Ann").one()
    """

    def __init__(self, storage: Storage, autoflush: bool = True, autocommit: bool = False) -> None:
        self.storage = storage
        self.engine = storage.engine
        self.autoflush = autoflush
        self.autocommit = autocommit
        self._tx: EngineTransaction | None = None
        self._identity: dict[type, dict[Any, Any]] = {}
        # model -> (epoch, loader): a loader is made once per model and transaction.
        self._loaders: dict[type, tuple[int, Callable[[Sequence[Any]], Any]]] = {}
        self._new: dict[int, Any] = {}
        self._dirty: dict[int, Any] = {}
        self._deleted: dict[int, Any] = {}
        self._inserted: list[tuple[Any, bool]] = []  # flushed inserts of this transaction
        self._removed: list[Any] = []  # flushed deletes of this transaction
        self._savepoints: list[_Savepoint] = []
        self._flushing = False
        self._in_block = False
        # Bumped at each commit: instances whose values were read in an
        # earlier transaction are refreshed when their row is loaded again
        # (SQLAlchemy's expire_on_commit, without making them unreadable).
        self._epoch = 1

    # --- transaction plumbing --------------------------------------------------
    def _dispatch(self, name: str) -> None:
        # Session events reach listeners on the storage, this session, or Session.
        events.dispatch(self.storage, name, self)
        events.dispatch(self, name, self)
        events.dispatch(type(self), name, self)

    def _transaction(self) -> EngineTransaction:
        if self._tx is None:
            self._tx = self.engine.begin()
        return self._tx

    @property
    def in_transaction(self) -> bool:
        """True while an engine transaction is open."""
        return self._tx is not None

    def _check_writable(self) -> None:
        if self.storage.read_only:
            self.storage._check_writable()

    # --- adding and removing ---------------------------------------------------
    def add(self, instance: Any) -> None:
        """Put an instance in the session: new ones are inserted at the next flush.

        A detached instance (from a closed session) is attached again; its
        changed attributes are written at the next flush.

        Raises:
            TransactionError: the instance belongs to another open session.
        """
        self._check_writable()
        state = state_of(instance)
        if state.session is self:
            if state.status == DELETED and id(instance) in self._deleted:
                del self._deleted[id(instance)]
                state.status = PERSISTENT
            return
        if state.session is not None:
            raise TransactionError(
                f"{instance!r} belongs to another session; expunge it there first or use merge()"
            )
        if state.status in (PERSISTENT, DETACHED) and state.key is not None:
            existing = self._identity.get(type(instance), {}).get(state.key)
            if existing is not None and existing is not instance:
                raise TransactionError(
                    f"another {type(instance).__name__} with key {state.key!r} is already in "
                    "this session; use merge()"
                )
            self._identity.setdefault(type(instance), {})[state.key] = instance
            state.session = self
            state.status = PERSISTENT
            if state.modified:
                self._dirty[id(instance)] = instance
        else:
            state.session = self
            state.status = PENDING
            self._new[id(instance)] = instance
        if self.autocommit:
            self.commit()

    def add_all(self, instances: Iterable[Any]) -> None:
        """:meth:`add` each instance."""
        for instance in instances:
            self.add(instance)

    def delete(self, instance: Any) -> None:
        """Mark an instance for deletion at the next flush (a pending one is just dropped)."""
        self._check_writable()
        state = state_of(instance)
        if state.session is not self:
            if state.status in (PERSISTENT, DETACHED) and state.key is not None:
                self.add(instance)
            else:
                raise TransactionError(f"{instance!r} is not in this session; add it first")
        if state.status == PENDING:
            self.expunge(instance)
            return
        state.status = DELETED
        self._dirty.pop(id(instance), None)
        self._deleted[id(instance)] = instance
        if self.autocommit:
            self.commit()

    def _note_dirty(self, instance: Any) -> None:
        state = instance.__dict__[STATE_ATTR]
        if state.status == PERSISTENT:
            self._dirty[id(instance)] = instance

    def flag_modified(self, instance: Any, key: str) -> None:
        """Mark ``key`` changed, e.g. after editing a list or dict column in place."""
        if key not in type(instance).__columns__:
            raise QueryError(f"{type(instance).__name__} has no column {key!r}")
        state = state_of(instance)
        state.modified.add(key)
        if state.session is self:
            self._note_dirty(instance)

    def expunge(self, instance: Any) -> None:
        """Remove an instance from the session without touching the database."""
        state = state_of(instance)
        if state.session is not self:
            return
        self._new.pop(id(instance), None)
        self._dirty.pop(id(instance), None)
        self._deleted.pop(id(instance), None)
        if state.key is not None:
            bucket = self._identity.get(type(instance), {})
            if bucket.get(state.key) is instance:
                del bucket[state.key]
        state.session = None
        state.status = TRANSIENT if state.status == PENDING else DETACHED

    def expunge_all(self) -> None:
        """Remove every instance from the session."""
        for instance in list(self._all_instances()):
            self.expunge(instance)

    def _all_instances(self) -> Iterator[Any]:
        yield from self._new.values()
        for bucket in self._identity.values():
            yield from bucket.values()
        yield from self._deleted.values()

    @property
    def new(self) -> list[Any]:
        """Instances added and not flushed yet."""
        return list(self._new.values())

    @property
    def dirty(self) -> list[Any]:
        """Stored instances with assigned, unflushed changes."""
        return [i for i in self._dirty.values() if i.__dict__[STATE_ATTR].modified]

    @property
    def deleted(self) -> list[Any]:
        """Instances marked for deletion and not flushed yet."""
        return list(self._deleted.values())

    def __contains__(self, instance: Any) -> bool:
        state = instance.__dict__.get(STATE_ATTR)
        return state is not None and state.session is self

    # --- loading -----------------------------------------------------------
    def _loader(self, model: Any) -> Callable[[Sequence[Any]], Any]:
        """A function turning a stored row (table column order) into an instance.

        The identity map answers first, so one key is one instance per
        session. Rows are loaded past the column checks (perf-facts.md,
        section 2: object.__new__ + __dict__.update is the cheap path).
        """
        cached = self._loaders.get(model)
        if cached is not None and cached[0] == self._epoch:
            return cached[1]
        bucket = self._identity.get(model)
        if bucket is None:
            bucket = self._identity[model] = {}
        position = model.__key_position__
        keys = model.__attr_keys__
        populate = self._populate
        make = object.__new__
        session = self
        epoch = self._epoch

        def load(values: Sequence[Any]) -> Any:
            pk = values[position]
            existing = bucket.get(pk)
            if existing is not None:
                state = existing.__dict__[STATE_ATTR]
                if state.expired or (state.epoch != epoch and not state.modified):
                    populate(existing, values)
                return existing
            instance = make(model)
            data = instance.__dict__
            data.update(zip(keys, values))
            data[STATE_ATTR] = InstanceState(PERSISTENT, session, pk, epoch)
            bucket[pk] = instance
            return instance

        self._loaders[model] = (epoch, load)
        return load

    def _build(self, model: Any, values: Sequence[Any]) -> Any:
        """An instance for one stored row (identity map first)."""
        return self._loader(model)(values)

    def _populate(self, instance: Any, values: Sequence[Any]) -> None:
        data = instance.__dict__
        data.update(zip(type(instance).__attr_keys__, values))
        for key in type(instance).__relationships__:
            data.pop(key, None)  # loaded relationships reload with the row
        state = data[STATE_ATTR]
        state.expired = False
        state.epoch = self._epoch
        state.modified.clear()

    def get(self, model: type[M], pk: Any) -> M | None:
        """The instance of ``model`` with primary key ``pk``, or None.

        The identity map answers first; otherwise one keyed lookup.
        """
        bucket = self._identity.get(model)
        if bucket is not None:
            found = bucket.get(pk)
            if found is not None:
                state = found.__dict__[STATE_ATTR]
                if state.status == DELETED:
                    return None
                if not state.expired and (state.epoch == self._epoch or state.modified):
                    return found  # type: ignore[no-any-return]
        if self.autoflush:
            self._autoflush()
        if pk is not None and model.__primary_key__ is not None:
            column = model.__columns__[model.__primary_key__]
            if type(pk) is not column.type:
                try:  # get(User, "7") finds key 7, as filter_by(id="7") would
                    pk = column.validate(pk, model)
                except ValidationError:
                    return None  # a value the key column cannot hold matches no row
        row = self._transaction().get(model.__table__, pk)
        if row is None:
            return None
        return self._build(model, row)  # type: ignore[no-any-return]

    def refresh(self, instance: Any) -> None:
        """Reload an instance's columns from the database (discarding unflushed changes).

        Raises:
            RecordNotFoundError: its row no longer exists.
        """
        state = state_of(instance)
        if state.session is not self:
            raise DetachedInstanceError(f"{instance!r} is not in this session; add it first")
        if state.key is None:
            raise RecordNotFoundError(f"{instance!r} was never stored; nothing to refresh")
        row = self._transaction().get(type(instance).__table__, state.key)
        if row is None:
            raise RecordNotFoundError(
                f"{type(instance).__name__} row {state.key!r} no longer exists",
                table_name=type(instance).__table__.name,
                pk=state.key,
            )
        self._populate(instance, row)
        self._dirty.pop(id(instance), None)

    def _load_expired(self, instance: Any) -> None:
        state = state_of(instance)
        row = self._transaction().get(type(instance).__table__, state.key)
        if row is None:
            self.expunge(instance)
            raise RecordNotFoundError(
                f"{type(instance).__name__} row {state.key!r} was deleted",
                table_name=type(instance).__table__.name,
                pk=state.key,
            )
        self._populate(instance, row)

    def expire(self, instance: Any, attribute_names: Iterable[str] | None = None) -> None:
        """Forget loaded values; the next attribute access reloads them.

        Only whole-instance expiry is tracked: ``attribute_names`` is accepted for
        SQLAlchemy compatibility and expires the whole instance.
        """
        state = state_of(instance)
        if state.session is not self or state.status != PERSISTENT:
            return
        for key in type(instance).__columns__:
            instance.__dict__.pop(key, None)
        for key in type(instance).__relationships__:
            instance.__dict__.pop(key, None)
        state.expired = True
        state.modified.clear()
        self._dirty.pop(id(instance), None)

    def expire_all(self) -> None:
        """Expire every persistent instance of the session."""
        for bucket in self._identity.values():
            for instance in bucket.values():
                self.expire(instance)

    def merge(self, instance: M) -> M:
        """Copy an outside instance's state onto the session's instance with the same key.

        Returns the session's instance (loaded if needed); an instance with no
        stored row is added as new. From a new (transient) instance only the
        attributes given to its constructor or assigned are copied, so
        ``merge(User(id=2, name="Bo"))`` leaves the other columns as stored.
        """
        state = state_of(instance)
        if state.session is self:
            return instance
        model = type(instance)
        key = model_key(instance)
        target = self.get(model, key) if key is not None else None
        if target is None:
            copy = model(**{k: instance.__dict__.get(k) for k in model.__columns__})
            self.add(copy)
            return copy
        only_given = state.status == TRANSIENT
        for name in model.__columns__:
            if name == model.__primary_key__ or (only_given and name not in state.modified):
                continue
            value = instance.__dict__.get(name)
            if target.__dict__.get(name) != value:
                setattr(target, name, value)
        return target

    # --- flushing -------------------------------------------------------------
    def _autoflush(self) -> None:
        if (self._new or self._dirty or self._deleted) and not self._flushing:
            self.flush()

    def flush(self) -> None:
        """Write pending inserts, updates and deletes to the transaction.

        Atomic: if any write fails, none of this flush's writes remain and
        the instances keep their unflushed state.

        Raises:
            DuplicateKeyError: a key or unique value is taken.
            ValidationError: a non-nullable column is None.
        """
        if not (self._new or self._dirty or self._deleted):
            return
        self._check_writable()
        if self._flushing:
            raise TransactionError("flush() was called from inside a flush (an event listener?)")
        self._dispatch("before_flush")
        unit_of_work.write_atomically(
            self, lambda tx, undo: unit_of_work.flush_all(self, tx, undo)
        )
        self._dispatch("after_flush")

    # --- ending transactions -----------------------------------------------
    def commit(self) -> None:
        """Flush, then make the transaction's changes permanent (and durable).

        Raises:
            ConflictError: another transaction committed a change to a row this
                one changed; roll back and retry.
        """
        if self._savepoints:
            raise TransactionError("commit() inside begin_nested(): leave the nested block first")
        self.flush()
        self._dispatch("before_commit")
        if self._tx is not None:
            self._tx.commit()
            self._tx = None
        self._epoch += 1
        for instance in self._removed:
            state = instance.__dict__[STATE_ATTR]
            state.session = None
            state.status = DETACHED
        self._inserted.clear()
        self._removed.clear()
        self._dispatch("after_commit")

    def rollback(self) -> None:
        """Undo every change since the transaction began (flushed ones included)."""
        self._abandon()
        self.expire_all()
        self._dispatch("after_rollback")

    def _abandon(self) -> None:
        # Roll the engine back and put the session's bookkeeping as it was at
        # begin(); instance values are left as they are (the caller expires).
        if self._tx is not None:
            self._tx.rollback()
            self._tx = None
        self._savepoints.clear()
        self._discard_since(0, 0)
        for instance in list(self._new.values()):
            self.expunge(instance)
        self._deleted_back()
        self._dirty.clear()

    def _deleted_back(self) -> None:
        for instance in list(self._deleted.values()):
            state = instance.__dict__[STATE_ATTR]
            state.status = PERSISTENT
        self._deleted.clear()

    def _discard_since(self, inserted: int, removed: int) -> None:
        # Rows inserted since the mark no longer exist: the instances become
        # transient again. Rows deleted since the mark exist again.
        while len(self._inserted) > inserted:
            instance, was_assigned = self._inserted.pop()
            unit_of_work.unflush_insert(self, instance, was_assigned)
        while len(self._removed) > removed:
            instance = self._removed.pop()
            state = instance.__dict__[STATE_ATTR]
            state.status = PERSISTENT
            state.session = self
            self._identity.setdefault(type(instance), {})[state.key] = instance

    def close(self) -> None:
        """Roll back anything uncommitted and detach every instance (they keep their values).

        The session may be used again afterwards; it starts empty, as after
        ``Session(storage)``.
        """
        if self._tx is not None or self._new or self._dirty or self._deleted:
            # Unlike rollback(), nothing is expired: there is no session left
            # to reload from, and detached instances must stay readable.
            self._abandon()
            self._dispatch("after_rollback")
        for instance in list(self._all_instances()):
            state = instance.__dict__[STATE_ATTR]
            state.session = None
            if state.status != TRANSIENT:
                state.status = DETACHED
        self._identity.clear()
        self._loaders.clear()  # they hold the identity map's buckets
        self._new.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.close()

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A transaction block: commits at the end, rolls back if it raises.

        Raises:
            TransactionError: a transaction block is already open.
        """
        if self._savepoints or self._in_block:
            raise TransactionError(
                "begin() inside another begin() or begin_nested() block; "
                "use begin_nested() for a savepoint"
            )
        self._in_block = True
        try:
            yield self
        except BaseException:
            self._in_block = False
            self.rollback()
            raise
        self._in_block = False
        self.commit()

    @contextmanager
    def begin_nested(self) -> Iterator[Session]:
        """A savepoint: if the block raises, only its changes are undone.

        Example::

            with session.begin_nested():
                session.add(User(name="maybe"))
                raise ValueError  # only "maybe" is undone
        """
        self.flush()
        tx = self._transaction()
        mark = _Savepoint(tx.savepoint(), len(self._inserted), len(self._removed))
        self._savepoints.append(mark)
        try:
            yield self
            self.flush()
        except BaseException:
            self._savepoints.remove(mark)
            tx.rollback_to(mark.token)
            for instance in list(self._new.values()):
                self.expunge(instance)
            self._deleted_back()
            self._dirty.clear()
            self._discard_since(mark.inserted, mark.removed)
            self.expire_all()
            raise
        self._savepoints.remove(mark)
        tx.release(mark.token)

    # --- statements -------------------------------------------------------------
    @overload
    def query(self, entity: type[M], /) -> Query[M]: ...

    @overload
    def query(self, *columns: Any) -> Query[Row]: ...

    def query(self, *entities: Any) -> Query[Any]:
        """A chainable query: ``session.query(User)`` or ``session.query(User.name, User.age)``."""
        return Query(self, select(*entities))

    @overload
    def execute(self, statement: Select[T]) -> Result[T]: ...

    @overload
    def execute(self, statement: Insert | Update | Delete) -> CursorResult: ...

    def execute(self, statement: Any) -> Any:
        """Run a statement: a SELECT returns a :class:`Result`, writes a :class:`CursorResult`."""
        if isinstance(statement, Select):
            return self._run_select(statement)
        if isinstance(statement, Insert):
            return self._run_insert(statement)
        if isinstance(statement, (Update, Delete)):
            return self._run_write(statement)
        raise QueryError(
            f"execute() takes select(), insert(), update() or delete() statements, got {statement!r}"
        )

    def scalars(self, statement: Select[T]) -> ScalarResult[T]:
        """Shortcut: ``execute(statement).scalars()``."""
        return self._run_select(statement).scalars()

    def scalar(self, statement: Select[Any]) -> Any:
        """Shortcut: ``execute(statement).scalar()``."""
        return self._run_select(statement).scalar()

    def _run_select(self, statement: Select[T]) -> Result[T]:
        if self.autoflush:
            self._autoflush()
        rows = self._transaction().select(statement)
        entity = statement.single_entity
        if entity is not None:
            load = self._loader(entity)
            instances = [load(row) for row in rows]
            return Result(instances, (entity.__name__,), instances)
        items = statement.items
        keys = [_key_of(item) for item in items]
        cls = row_class(keys)
        if all(not isinstance(item, Entity) for item in items):
            out = [cls(row) for row in rows]
            return Result(out, keys, [row[0] for row in rows])  # type: ignore[arg-type]
        built = []
        for row in rows:
            position = 0
            values = []
            for item in items:
                if isinstance(item, Entity):
                    width = len(item.refs)
                    values.append(self._build(item.model, row[position:position + width]))
                    position += width
                else:
                    values.append(row[position])
                    position += 1
            built.append(cls(values))
        return Result(built, keys, [row[0] for row in built])  # type: ignore[arg-type]

    def _run_insert(self, statement: Insert) -> CursorResult:
        self._check_writable()
        if self.autoflush:
            self._autoflush()
        model = statement.entity
        rows = []
        for given in statement.rows:
            values = model(**given).__dict__
            missing = [
                key for key, column in model.__columns__.items()
                if values.get(key) is None and not column.nullable and not column.primary_key
            ]
            if missing:
                raise ValidationError(
                    f"{model.__name__}.{missing[0]}: a value is required (nullable=False)",
                    table_name=model.__table__.name,
                    column_name=missing[0],
                )
            rows.append({stored: values.get(key) for stored, key in model.__stored_keys__})
        keys = self._transaction().insert(model.__table__, rows)
        return CursorResult(len(keys), keys)

    def _run_write(self, statement: Update | Delete) -> CursorResult:
        self._check_writable()
        if self.autoflush:
            self._autoflush()
        tx = self._transaction()
        model = statement.entity
        if isinstance(statement, Update):
            count = tx.update(statement)
            for instance in list(self._identity.get(model, {}).values()):
                self.expire(instance)
        else:
            count = tx.delete(statement)
            bucket = self._identity.get(model, {})
            for key, instance in list(bucket.items()):
                if tx.get(model.__table__, key) is None:
                    del bucket[key]
                    state = instance.__dict__[STATE_ATTR]
                    state.status = DETACHED
                    state.session = None
                    self._dirty.pop(id(instance), None)
        return CursorResult(count)

    # --- Pytuck 1.x bulk helpers -----------------------------------------------
    def bulk_insert(self, instances: Sequence[Any]) -> list[Any]:
        """Insert many instances of one model now; return their keys.

        Fires ``before_bulk_insert``/``after_bulk_insert`` instead of per-row
        events, as in Pytuck 1.x.
        """
        return unit_of_work.bulk_insert(self, instances)

    def bulk_update(self, instances: Sequence[Any]) -> int:
        """Write the changed columns of many stored instances now; return how many rows changed."""
        return unit_of_work.bulk_update(self, instances)

def _key_of(item: Any) -> str:
    if isinstance(item, Entity):
        return str(item.model.__name__)
    if isinstance(item, Label):
        return item.name
    if isinstance(item, ColumnRef):
        return item.key
    if isinstance(item, FunctionCall):
        return item.name
    if isinstance(item, Expression):
        return item.describe()
    return str(item)
