"""Model events: per-row before/after insert/update/delete, bulk events, listens_for, remove."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import ConfigurationError, Session, event


def record(log: list[Any], label: str) -> Any:
    """A one-argument listener appending ``(label, instance name)`` to ``log``."""

    def listener(instance: Any) -> None:
        log.append((label, instance.name))

    return listener


@pytest.mark.parametrize("moment", ["before", "after"])
def test_insert_events_fire_at_flush(storage: Any, User: Any, moment: str) -> None:
    log: list[Any] = []
    event.listen(User, f"{moment}_insert", record(log, "insert"))
    with Session(storage) as session:
        session.add(User(name="Ann"))
        assert log == []
        session.flush()
        assert log == [("insert", "Ann")]


@pytest.mark.parametrize("moment", ["before", "after"])
def test_update_events_fire_for_changed_instances(
    storage: Any, User: Any, people: Any, moment: str
) -> None:
    log: list[Any] = []
    event.listen(User, f"{moment}_update", record(log, "update"))
    with Session(storage) as session:
        session.get(User, 1).age = 40
        session.get(User, 2)
        session.commit()
    assert log == [("update", "Ann")]


@pytest.mark.parametrize("moment", ["before", "after"])
def test_delete_events_fire_for_deleted_instances(
    storage: Any, User: Any, people: Any, moment: str
) -> None:
    log: list[Any] = []
    event.listen(User, f"{moment}_delete", record(log, "delete"))
    with Session(storage) as session:
        session.delete(session.get(User, 2))
        session.commit()
    assert log == [("delete", "Bob")]


def test_before_insert_runs_before_after_insert(storage: Any, User: Any) -> None:
    log: list[Any] = []
    event.listen(User, "after_insert", record(log, "after"))
    event.listen(User, "before_insert", record(log, "before"))
    with Session(storage) as session:
        session.add(User(name="Ann"))
    assert log == [("before", "Ann"), ("after", "Ann")]


def test_after_insert_sees_the_assigned_key(storage: Any, User: Any) -> None:
    keys: list[Any] = []
    event.listen(User, "before_insert", lambda user: keys.append(user.id))
    event.listen(User, "after_insert", lambda user: keys.append(user.id))
    with Session(storage) as session:
        session.add(User(name="Ann"))
    assert keys[0] is None and isinstance(keys[1], int)


def test_before_insert_changes_are_stored(storage: Any, User: Any) -> None:
    def stamp(user: Any) -> None:
        user.city = "Stamped"

    event.listen(User, "before_insert", stamp)
    with Session(storage) as session:
        session.add(User(name="Ann"))
    with Session(storage) as session:
        assert session.query(User).one().city == "Stamped"


def test_before_update_changes_are_stored(storage: Any, User: Any, people: Any) -> None:
    def stamp(user: Any) -> None:
        user.city = "Touched"

    event.listen(User, "before_update", stamp)
    with Session(storage) as session:
        session.get(User, 1).age = 40
    with Session(storage) as session:
        ann = session.get(User, 1)
        assert (ann.age, ann.city) == (40, "Touched")


def test_listener_with_two_arguments_gets_the_session(storage: Any, User: Any) -> None:
    seen: list[Any] = []

    def listener(instance: Any, session: Any) -> None:
        seen.append((instance.name, session))

    event.listen(User, "before_insert", listener)
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.flush()
        assert seen == [("Ann", session)]


def test_listens_for_registers_the_decorated_function(storage: Any, User: Any) -> None:
    log: list[Any] = []

    @event.listens_for(User, "after_insert")
    def on_insert(user: Any) -> None:
        log.append(user.name)

    with Session(storage) as session:
        session.add(User(name="Ann"))
    assert log == ["Ann"] and callable(on_insert)


def test_removed_listener_is_not_called(storage: Any, User: Any) -> None:
    log: list[Any] = []
    listener = record(log, "insert")
    event.listen(User, "before_insert", listener)
    event.remove(User, "before_insert", listener)
    with Session(storage) as session:
        session.add(User(name="Ann"))
    assert log == []


def test_remove_keeps_other_listeners(storage: Any, User: Any) -> None:
    log: list[Any] = []
    gone, kept = record(log, "gone"), record(log, "kept")
    event.listen(User, "before_insert", gone)
    event.listen(User, "before_insert", kept)
    event.remove(User, "before_insert", gone)
    with Session(storage) as session:
        session.add(User(name="Ann"))
    assert log == [("kept", "Ann")]


def test_listeners_of_one_model_ignore_another(storage: Any, Base: Any, User: Any) -> None:
    from pytuck import Column

    class Pet(Base):
        __tablename__ = "pets"
        id = Column(int, primary_key=True)
        name = Column(str)

    log: list[Any] = []
    event.listen(Pet, "before_insert", record(log, "pet"))
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.add(Pet(name="Rex"))
    assert log == [("pet", "Rex")]


def test_unknown_event_name_is_refused(User: Any) -> None:
    with pytest.raises(ConfigurationError, match="before_save"):
        event.listen(User, "before_save", lambda user: None)


def test_unknown_event_name_is_refused_by_listens_for(User: Any) -> None:
    with pytest.raises(ConfigurationError):

        @event.listens_for(User, "on_insert")
        def listener(user: Any) -> None:
            pass


def test_bulk_insert_fires_bulk_events_with_the_instances(storage: Any, User: Any) -> None:
    log: list[Any] = []
    event.listen(User, "before_bulk_insert", lambda users: log.append(("before", [u.id for u in users])))
    event.listen(User, "after_bulk_insert", lambda users: log.append(("after", [u.id for u in users])))
    event.listen(User, "before_insert", record(log, "row"))
    with Session(storage) as session:
        keys = session.bulk_insert([User(name="a"), User(name="b")])
        session.commit()
    assert log == [("before", [None, None]), ("after", keys)]


def test_bulk_update_fires_bulk_events(storage: Any, User: Any, people: Any) -> None:
    log: list[Any] = []
    event.listen(User, "before_bulk_update", lambda users, session: log.append(len(users)))
    event.listen(User, "after_bulk_update", lambda users: log.append([u.age for u in users]))
    with Session(storage) as session:
        users = [session.get(User, 1), session.get(User, 2)]
        for user in users:
            user.age = 1
        assert session.bulk_update(users) == 2
        session.commit()
    assert log == [2, [1, 1]]


def test_no_event_fires_for_a_flush_that_changes_nothing(storage: Any, User: Any, people: Any) -> None:
    log: list[Any] = []
    for name in ("before_insert", "before_update", "before_delete"):
        event.listen(User, name, record(log, name))
    with Session(storage) as session:
        session.query(User).all()
        session.commit()
    assert log == []


def test_listener_that_raises_aborts_the_flush(storage: Any, User: Any, people: Any) -> None:
    def refuse(user: Any) -> None:
        raise RuntimeError(f"no {user.name}")

    event.listen(User, "after_insert", refuse)
    with Session(storage, autoflush=False) as session:
        user = User(name="Zed")
        session.add(user)
        session.get(User, 1).age = 1
        with pytest.raises(RuntimeError, match="no Zed"):
            session.flush()
        assert user.id is None and user in session
        assert session.query(User).count() == 6
        session.rollback()
    with Session(storage) as session:
        assert session.query(User).count() == 6 and session.get(User, 1).age == 31


@pytest.mark.parametrize("target", ["storage", "session", "Session class"])
def test_session_events_fire_in_order(storage: Any, User: Any, target: str) -> None:
    log: list[str] = []
    session = Session(storage)
    where = {"storage": storage, "session": session, "Session class": Session}[target]

    def note(name: str) -> Any:
        return lambda session: log.append(name)

    for name in ("before_flush", "after_flush", "before_commit", "after_commit", "after_rollback"):
        event.listen(where, name, note(name))
    session.add(User(name="Ann"))
    session.commit()
    session.add(User(name="Bob"))
    session.rollback()
    session.close()
    assert log == ["before_flush", "after_flush", "before_commit", "after_commit", "after_rollback"]


def test_session_event_listener_gets_the_session(storage: Any, User: Any) -> None:
    seen: list[Any] = []
    event.listen(storage, "after_commit", seen.append)
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.commit()
        assert seen == [session]


def test_listener_with_an_optional_second_parameter_gets_only_the_instance(
    storage: Any, User: Any  # noqa: N803
) -> None:
    seen: list[Any] = []

    def stamp(user: Any, extra: Any = "unset") -> None:
        seen.append(extra)

    event.listen(User, "before_insert", stamp)
    with Session(storage) as session:
        session.add(User(name="Ann"))
    assert seen == ["unset"]


def test_listener_with_a_second_parameter_named_session_gets_the_session(
    storage: Any, User: Any  # noqa: N803
) -> None:
    seen: list[Any] = []

    def stamp(user: Any, session: Any = None) -> None:
        seen.append(session)

    event.listen(User, "before_insert", stamp)
    with Session(storage) as session:
        session.add(User(name="Ann"))
        session.flush()
        assert seen == [session]
