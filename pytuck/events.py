"""Event hooks: ``@event.listens_for(User, "before_insert")``.

Model events fire from ``Session.flush()`` (and Active Record writes) with the
instance and the session: a listener may take ``(instance)`` as in Pytuck 1.x
or ``(instance, session)``. Bulk events get the list of instances. Storage
events (``before_flush``, ``after_flush``, ``before_commit``, ``after_commit``,
``after_rollback``) are registered on a Storage or a Session class/instance
and get the session.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from pytuck.errors import ConfigurationError

__all__ = ["listen", "listens_for", "remove", "clear", "dispatch", "has_listeners", "MODEL_EVENTS", "SESSION_EVENTS"]

F = TypeVar("F", bound=Callable[..., Any])

#: Events whose target is a model class; listeners get (instance[, session]).
MODEL_EVENTS = frozenset(
    {
        "before_insert",
        "after_insert",
        "before_update",
        "after_update",
        "before_delete",
        "after_delete",
        "before_bulk_insert",
        "after_bulk_insert",
        "before_bulk_update",
        "after_bulk_update",
    }
)
#: Events whose target is a Storage; listeners get (session) or nothing.
SESSION_EVENTS = frozenset(
    {"before_flush", "after_flush", "before_commit", "after_commit", "after_rollback"}
)

_lock = threading.Lock()
_listeners: dict[tuple[int, str], list[tuple[Callable[..., Any], int]]] = {}
_targets: dict[int, Any] = {}


def _arity(fn: Callable[..., Any]) -> int:
    """How many arguments to pass: 2 when the listener wants the session too.

    A listener gets the session when it has two required positional
    parameters, or a parameter named ``session``; ``def f(user, extra=None)``
    gets only the instance, as in Pytuck 1.x.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return 2
    required = 0
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    index = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return 2
        if parameter.kind not in positional:
            continue
        if index >= 1 and parameter.name == "session":
            return 2
        if parameter.default is inspect.Parameter.empty:
            required += 1
        index += 1
    return required


def _check(target: Any, name: str) -> None:
    if name in MODEL_EVENTS:
        if not isinstance(target, type) or not hasattr(target, "__table__"):
            raise ConfigurationError(f"event {name!r} needs a model class as target, got {target!r}")
        return
    if name in SESSION_EVENTS:
        return
    raise ConfigurationError(
        f"unknown event {name!r}; model events: {', '.join(sorted(MODEL_EVENTS))}; "
        f"storage events: {', '.join(sorted(SESSION_EVENTS))}"
    )


def listen(target: Any, name: str, fn: Callable[..., Any]) -> None:
    """Call ``fn`` when event ``name`` happens on ``target``.

    Raises:
        ConfigurationError: unknown event name, or a target it does not apply to.
    """
    _check(target, name)
    with _lock:
        _targets[id(target)] = target
        _listeners.setdefault((id(target), name), []).append((fn, _arity(fn)))


def listens_for(target: Any, name: str) -> Callable[[F], F]:
    """Decorator form of :func:`listen`.

    Example::

        @event.listens_for(User, "before_insert")
        def stamp(user, session):
            user.created_at = datetime.now(timezone.utc)
    """

    def decorate(fn: F) -> F:
        listen(target, name, fn)
        return fn

    return decorate


def remove(target: Any, name: str, fn: Callable[..., Any]) -> None:
    """Stop calling ``fn`` for event ``name`` on ``target`` (no error if absent)."""
    with _lock:
        entries = _listeners.get((id(target), name), [])
        _listeners[(id(target), name)] = [e for e in entries if e[0] is not fn]


def clear(target: Any = None) -> None:
    """Remove every listener of ``target``, or of every target when None."""
    with _lock:
        if target is None:
            _listeners.clear()
            _targets.clear()
            return
        for key in [k for k in _listeners if k[0] == id(target)]:
            del _listeners[key]


def has_listeners(target: Any, name: str) -> bool:
    """True when some listener waits for ``name`` on ``target``."""
    return bool(_listeners.get((id(target), name)))


def dispatch(target: Any, name: str, subject: Any, session: Any = None) -> None:
    """Call the listeners of ``name`` on ``target`` with ``subject`` (and the session)."""
    entries = _listeners.get((id(target), name))
    if not entries:
        return
    for fn, arity in list(entries):
        if arity >= 2:
            fn(subject, session)
        elif arity == 1:
            fn(subject)
        else:
            fn()
