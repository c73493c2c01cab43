"""Per-instance bookkeeping the session needs: which session, which key, what changed."""

from __future__ import annotations

from typing import Any

from pytuck.errors import QueryError

__all__ = [
    "state_of","InstanceState", "TRANSIENT", "PENDING", "PERSISTENT", "DELETED", "DETACHED", "STATE_ATTR"]

#: Not in any session, never stored.
TRANSIENT = "transient"
#: Added to a session, not flushed yet.
PENDING = "pending"
#: Stored, and in a session's identity map.
PERSISTENT = "persistent"
#: Marked for deletion (or deleted by a flush not yet committed).
DELETED = "deleted"
#: Was stored, but its session is closed or it was expunged.
DETACHED = "detached"

#: Name of the instance attribute that holds the state.
STATE_ATTR = "_pytuck_state"


class InstanceState:
    """What the session knows of one model instance.

    Attributes:
        session: the session the instance belongs to, or None.
        key: the primary key value once stored.
        status: one of the status constants of this module.
        modified: attribute names assigned since the last flush.
        expired: column values were dropped and reload on next access.
        epoch: the session transaction (a counter bumped at each commit) in
            which the values were last read or written; values from an
            earlier one are refreshed the next time the row is loaded.
    """

    __slots__ = ("session", "key", "status", "modified", "expired", "epoch")

    def __init__(
        self, status: str = TRANSIENT, session: Any = None, key: Any = None, epoch: int = 0
    ) -> None:
        self.session: Any = session
        self.key: Any = key
        self.status = status
        self.modified: set[str] = set()
        self.expired = False
        self.epoch = epoch


def state_of(instance: Any) -> InstanceState:
    """The session bookkeeping of a model instance.

    Raises:
        QueryError: ``instance`` is not an instance of a pytuck model.
    """
    try:
        state: InstanceState = instance.__dict__[STATE_ATTR]
    except (AttributeError, KeyError, TypeError):
        raise QueryError(f"{instance!r} is not an instance of a pytuck model") from None
    return state
