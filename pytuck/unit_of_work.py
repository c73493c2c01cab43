"""The unit of work: writing a session's pending changes to its transaction.

A flush runs three phases in order: inserts (grouped per model, one engine
call each), updates (only the assigned columns), deletes. Each phase records
how to undo its bookkeeping, so a failed flush leaves instances exactly as
they were while the engine rolls back to the flush's savepoint. Model events
fire around each phase. The session owns the collections; this module owns
what a flush does with them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pytuck import events
from pytuck.engines.base import EngineTransaction
from pytuck.errors import ConflictError, QueryError, TransactionError, ValidationError
from pytuck.model.base import model_key
from pytuck.model.state import PENDING, PERSISTENT, STATE_ATTR, TRANSIENT, state_of

__all__ = [
    "SessionState",
    "write_atomically",
    "flush_all",
    "flush_inserts",
    "flush_updates",
    "flush_deletes",
    "unflush_insert",
    "bulk_insert",
    "bulk_update",
]


class SessionState(Protocol):
    """What a flush reads and changes of its session."""

    _new: dict[int, Any]
    _dirty: dict[int, Any]
    _deleted: dict[int, Any]
    _identity: dict[Any, dict[Any, Any]]
    _inserted: list[tuple[Any, bool]]
    _removed: list[Any]
    _epoch: int
    _flushing: bool

    def _transaction(self) -> EngineTransaction: ...

    def _check_writable(self) -> None: ...


def write_atomically(
    session: SessionState, work: Callable[[EngineTransaction, list[Any]], None]
) -> None:
    """Run ``work(tx, undo)`` inside a savepoint of the session's transaction.

    ``work`` appends to ``undo`` a callable per bookkeeping change it makes.
    If it raises, the engine goes back to the savepoint and the undo steps run
    in reverse, so both the database and the instances are as before.
    """
    tx = session._transaction()
    token = tx.savepoint()
    undo: list[Any] = []
    session._flushing = True
    try:
        work(tx, undo)
    except BaseException:
        tx.rollback_to(token)
        for step in reversed(undo):
            step()
        raise
    finally:
        session._flushing = False
        tx.release(token)


def flush_all(session: SessionState, tx: EngineTransaction, undo: list[Any]) -> None:
    """The three phases of a flush, in order: inserts, updates, deletes."""
    flush_inserts(session, tx, undo)
    flush_updates(session, tx, undo)
    flush_deletes(session, tx, undo)


def flush_inserts(
    session: SessionState,
    tx: EngineTransaction,
    undo: list[Any],
    pending: list[Any] | None = None,
    row_events: bool = True,
) -> None:
    """Insert pending instances (grouped per model, one engine call each) and make them persistent."""
    if pending is None:
        pending = list(session._new.values())
    if not pending:
        return
    if row_events:
        for instance in pending:
            events.dispatch(type(instance), "before_insert", instance, session)
    groups: dict[Any, list[Any]] = {}
    for instance in pending:
        groups.setdefault(type(instance), []).append(instance)
    for model, instances in groups.items():
        rows = []
        assigned = []
        key_attr = model.__key_attr__
        for instance in instances:
            data = instance.__dict__
            for key, column in model.__columns__.items():
                if data.get(key) is None and not column.nullable and not column.primary_key:
                    raise ValidationError(
                        f"{model.__name__}.{key}: a value is required (nullable=False)",
                        table_name=model.__table__.name,
                        column_name=key,
                    )
            rows.append({stored: data.get(key) for stored, key in model.__stored_keys__})
            assigned.append(data.get(key_attr) is None)
        keys = tx.insert(model.__table__, rows)
        bucket = session._identity.setdefault(model, {})
        for instance, pk, was_assigned in zip(instances, keys, assigned):
            data = instance.__dict__
            data[key_attr] = pk
            state = data[STATE_ATTR]
            state.key = pk
            state.status = PERSISTENT
            state.epoch = session._epoch
            state.modified.clear()
            bucket[pk] = instance
            del session._new[id(instance)]
            session._inserted.append((instance, was_assigned))

            def revert(instance: Any = instance, was_assigned: bool = was_assigned) -> None:
                unflush_insert(session, instance, was_assigned)
                session._new[id(instance)] = instance
                instance.__dict__[STATE_ATTR].status = PENDING
                instance.__dict__[STATE_ATTR].session = session
                session._inserted.pop()

            undo.append(revert)
    if row_events:
        for instance in pending:
            events.dispatch(type(instance), "after_insert", instance, session)

def unflush_insert(session: SessionState, instance: Any, was_assigned: bool) -> None:
    """Make a flushed-then-undone insert transient again (its assigned key dropped)."""
    model = type(instance)
    state = instance.__dict__[STATE_ATTR]
    bucket = session._identity.get(model, {})
    if bucket.get(state.key) is instance:
        del bucket[state.key]
    if was_assigned:
        instance.__dict__[model.__key_attr__] = None
    state.key = None
    state.status = TRANSIENT
    state.session = None

def flush_updates(session: SessionState, tx: EngineTransaction, undo: list[Any]) -> None:
    """Write the assigned columns of changed instances; a vanished row raises ConflictError."""
    if not session._dirty:
        return
    dirty = [i for i in session._dirty.values() if i.__dict__[STATE_ATTR].modified]
    for instance in dirty:
        events.dispatch(type(instance), "before_update", instance, session)
    groups: dict[Any, list[Any]] = {}
    for instance in dirty:
        groups.setdefault(type(instance), []).append(instance)
    for model, instances in groups.items():
        columns = model.__columns__
        changes = []
        for instance in instances:
            state = instance.__dict__[STATE_ATTR]
            values = {}
            for key in state.modified:
                column = columns[key]
                value = instance.__dict__.get(key)
                if value is None and not column.nullable and not column.primary_key:
                    raise ValidationError(
                        f"{model.__name__}.{key}: None is not allowed (nullable=False)",
                        table_name=model.__table__.name,
                        column_name=key,
                    )
                values[column.name or key] = value
            changes.append((state.key, values))
        if tx.update_rows(model.__table__, changes) < len(changes):
            _raise_vanished(tx, model, changes)
    for instance in dirty:
        state = instance.__dict__[STATE_ATTR]
        modified = set(state.modified)
        state.modified.clear()
        del session._dirty[id(instance)]

        def revert(instance: Any = instance, modified: set[str] = modified) -> None:
            instance.__dict__[STATE_ATTR].modified |= modified
            session._dirty[id(instance)] = instance

        undo.append(revert)
    session._dirty.clear()
    for instance in dirty:
        events.dispatch(type(instance), "after_update", instance, session)

def _raise_vanished(tx: EngineTransaction, model: Any, changes: list[Any]) -> None:
    # A changed instance whose row is gone: another transaction deleted it.
    # Writing nothing silently would lose the change, so it is a conflict
    # (SQLAlchemy raises StaleDataError here).
    table = model.__table__
    for key, _values in changes:
        if tx.get(table, key) is None:
            raise ConflictError(
                f"{table.name}: row {key!r} was deleted by another transaction, "
                f"so this {model.__name__} cannot be updated; roll back and retry",
                table_name=table.name,
                pk=key,
            )

def flush_deletes(session: SessionState, tx: EngineTransaction, undo: list[Any]) -> None:
    """Delete the rows of instances marked for deletion and drop them from the identity map."""
    if not session._deleted:
        return
    doomed = list(session._deleted.values())
    for instance in doomed:
        events.dispatch(type(instance), "before_delete", instance, session)
    groups: dict[Any, list[Any]] = {}
    for instance in doomed:
        groups.setdefault(type(instance), []).append(instance)
    for model, instances in groups.items():
        tx.delete_rows(model.__table__, [i.__dict__[STATE_ATTR].key for i in instances])
    for instance in doomed:
        state = instance.__dict__[STATE_ATTR]
        bucket = session._identity.get(type(instance), {})
        if bucket.get(state.key) is instance:
            del bucket[state.key]
        del session._deleted[id(instance)]
        session._removed.append(instance)

        def revert(instance: Any = instance) -> None:
            state = instance.__dict__[STATE_ATTR]
            session._identity.setdefault(type(instance), {})[state.key] = instance
            session._deleted[id(instance)] = instance
            session._removed.pop()

        undo.append(revert)
    for instance in doomed:
        events.dispatch(type(instance), "after_delete", instance, session)


def bulk_insert(session: SessionState, instances: Sequence[Any]) -> list[Any]:
    """Insert many instances of one model now; return their keys.

    Fires ``before_bulk_insert``/``after_bulk_insert`` instead of per-row
    events, as in Pytuck 1.x.
    """
    session._check_writable()
    if not instances:
        return []
    model = type(instances[0])
    if any(type(i) is not model for i in instances):
        raise QueryError("bulk_insert() takes instances of one model")
    events.dispatch(model, "before_bulk_insert", list(instances), session)
    for instance in instances:
        state = state_of(instance)
        if state.session is not None and state.session is not session:
            raise TransactionError(f"{instance!r} belongs to another session")
        if state.status != PENDING:
            state.session = session
            state.status = PENDING
        session._new[id(instance)] = instance
    write_atomically(
        session,
        lambda tx, undo: flush_inserts(session, tx, undo, list(instances), row_events=False),
    )
    events.dispatch(model, "after_bulk_insert", list(instances), session)
    return [model_key(i) for i in instances]

def bulk_update(session: SessionState, instances: Sequence[Any]) -> int:
    """Write the changed columns of many stored instances now; return how many rows changed."""
    session._check_writable()
    if not instances:
        return 0
    model = type(instances[0])
    events.dispatch(model, "before_bulk_update", list(instances), session)
    changes = []
    for instance in instances:
        state = state_of(instance)
        if state.key is None:
            raise QueryError(f"bulk_update(): {instance!r} was never stored")
        keys = state.modified or set(model.__columns__) - {model.__primary_key__}
        changes.append(
            (state.key, {model.__columns__[k].name or k: instance.__dict__.get(k) for k in keys})
        )
    count = session._transaction().update_rows(model.__table__, changes)
    for instance in instances:
        state = state_of(instance)
        state.modified.clear()
        session._dirty.pop(id(instance), None)
    events.dispatch(model, "after_bulk_update", list(instances), session)
    return count

