"""Active Record models: ``declarative_base(storage, crud=True)``."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, RecordNotFoundError, Session, declarative_base, event


@pytest.fixture
def Note(storage: Any) -> Any:
    """An Active Record model with a few notes saved."""

    class Note(declarative_base(storage, crud=True)):  # type: ignore[misc]
        __tablename__ = "notes"
        id = Column(int, primary_key=True)
        title = Column(str, nullable=False)
        stars = Column(int, index="sorted")

    for title, stars in [("a", 1), ("b", 3), ("c", 5)]:
        Note.create(title=title, stars=stars)
    return Note


def test_create_saves_and_returns_the_instance(storage: Any, Note: Any) -> None:
    note = Note.create(title="d", stars=2)
    assert isinstance(note.id, int) and note.title == "d"
    with Session(storage) as session:
        assert session.get(Note, note.id).title == "d"


def test_get_returns_the_row_by_key(Note: Any) -> None:
    note = Note.get(2)
    assert note is not None and (note.title, note.stars) == ("b", 3)


def test_get_of_a_missing_key_is_none(Note: Any) -> None:
    assert Note.get(99) is None


def test_filter_takes_conditions(Note: Any) -> None:
    found = Note.filter(Note.stars >= 3).order_by(Note.stars).all()
    assert [n.title for n in found] == ["b", "c"]


def test_filter_by_takes_attribute_equality(Note: Any) -> None:
    assert Note.filter_by(title="c").one().stars == 5


def test_filter_query_counts_and_firsts(Note: Any) -> None:
    assert Note.filter(Note.stars > 1).count() == 2
    first = Note.filter(Note.stars > 1).order_by("stars", desc=True).first()
    assert first is not None and first.title == "c"


def test_all_returns_every_row(Note: Any) -> None:
    assert sorted(n.title for n in Note.all()) == ["a", "b", "c"]


def test_save_inserts_a_new_instance(storage: Any, Note: Any) -> None:
    note = Note(title="new", stars=4)
    note.save()
    assert note.id is not None
    assert Note.get(note.id).title == "new"


def test_save_of_a_stored_instance_updates_it(Note: Any) -> None:
    note = Note.get(1)
    note.stars = 9
    note.save()
    assert Note.get(1).stars == 9
    assert len(Note.all()) == 3


def test_save_twice_inserts_once(Note: Any) -> None:
    note = Note(title="once", stars=1)
    note.save()
    note.title = "twice"
    note.save()
    assert [n.title for n in Note.filter(Note.id == note.id).all()] == ["twice"]
    assert len(Note.all()) == 4


def test_delete_removes_the_row(Note: Any) -> None:
    Note.get(1).delete()
    assert Note.get(1) is None
    assert len(Note.all()) == 2


def test_refresh_reloads_stored_values(storage: Any, Note: Any) -> None:
    note = Note.get(1)
    with Session(storage) as session:
        session.get(Note, 1).stars = 7
    note.stars = 100
    note.refresh()
    assert note.stars == 7


def test_refresh_of_a_deleted_row_raises(Note: Any) -> None:
    note = Note.get(1)
    Note.get(1).delete()
    with pytest.raises(RecordNotFoundError):
        note.refresh()


def test_instances_are_usable_after_each_call(Note: Any) -> None:
    notes = Note.filter(Note.stars < 5).order_by(Note.id).all()
    assert [(n.title, n.stars) for n in notes] == [("a", 1), ("b", 3)]


def test_active_record_writes_fire_model_events(Note: Any) -> None:
    log: list[str] = []
    event.listen(Note, "before_insert", lambda note: log.append("insert"))
    event.listen(Note, "before_update", lambda note: log.append("update"))
    event.listen(Note, "before_delete", lambda note: log.append("delete"))
    note = Note.create(title="e", stars=1)
    note.stars = 2
    note.save()
    note.delete()
    assert log == ["insert", "update", "delete"]


def test_active_record_models_work_in_a_session_too(storage: Any, Note: Any) -> None:
    with Session(storage) as session:
        session.add(Note(title="via session", stars=0))
    assert Note.filter_by(title="via session").count() == 1
