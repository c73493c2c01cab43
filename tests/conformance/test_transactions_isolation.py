"""A session never sees another session's uncommitted changes (two sessions, one thread).

The writing session flushes; the reading session starts its own reads only
after that, and never writes while the other holds uncommitted changes, so
these tests are valid on engines that allow one writer at a time.
"""

from __future__ import annotations

from typing import Any

from pytuck import Column, Session, delete, func, insert, select, update


def test_flushed_insert_is_invisible_to_another_session(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as writer, Session(storage) as reader:
        writer.add(User(name="Zed"))
        writer.flush()
        assert reader.query(User).filter_by(name="Zed").count() == 0
        assert reader.query(User).count() == 6


def test_flushed_update_is_invisible_to_another_session(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as writer, Session(storage) as reader:
        writer.get(User, 1).age = 99
        writer.flush()
        assert reader.get(User, 1).age == 31
        assert reader.query(User).filter(User.age == 99).count() == 0


def test_flushed_delete_is_invisible_to_another_session(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as writer, Session(storage) as reader:
        writer.delete(writer.get(User, 1))
        writer.flush()
        assert reader.get(User, 1) is not None


def test_statements_are_invisible_to_another_session(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as writer, Session(storage) as reader:
        writer.execute(update(User).values(city="X"))
        writer.execute(delete(User).where(User.id == 2))
        writer.execute(insert(User).values(name="Zed"))
        rows = reader.execute(select(User.city, func.count()).group_by(User.city)).all()
        assert sum(count for _, count in rows) == 6
        assert all(city != "X" for city, _ in rows)


def test_aggregate_reads_see_only_committed_rows(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as writer, Session(storage) as reader:
        writer.execute(update(User).values(age=1))
        total = reader.execute(select(func.sum(User.age))).scalar()
        assert total == 31 + 70 + 18 + 65 + 31


def test_commit_publishes_the_changes(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as writer:
        writer.add(User(name="Zed"))
        writer.get(User, 1).age = 99
        writer.commit()
    with Session(storage) as reader:
        assert reader.query(User).filter_by(name="Zed").count() == 1
        assert reader.get(User, 1).age == 99


def test_rolled_back_changes_are_never_seen(storage: Any, User: Any, people: Any) -> None:
    with Session(storage) as writer:
        writer.add(User(name="Zed"))
        writer.flush()
        writer.rollback()
    with Session(storage) as reader:
        assert reader.query(User).filter_by(name="Zed").count() == 0


def test_commit_across_tables_is_all_or_nothing(storage: Any, Base: Any, User: Any, people: Any) -> None:
    class Audit(Base):
        __tablename__ = "audit"
        id = Column(int, primary_key=True)
        note = Column(str)

    with Session(storage) as writer, Session(storage) as reader:
        writer.add(Audit(note="ann aged"))
        writer.get(User, 1).age = 32
        writer.flush()
        assert reader.query(Audit).count() == 0 and reader.get(User, 1).age == 31
        reader.commit()
        writer.commit()
        reader.expire_all()
        assert reader.query(Audit).count() == 1 and reader.get(User, 1).age == 32
