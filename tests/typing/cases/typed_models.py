"""A typed user program: mypy must infer precise types from pytuck's API."""

from __future__ import annotations

from pytuck import Column, Model, Session, Storage, select

db = Storage(in_memory=True)


class Base(Model):
    __storage__ = db


class User(Base):
    __tablename__ = "users"
    id = Column(int, primary_key=True)
    name = Column(str, nullable=False)
    age = Column(int)


with Session(db) as session:
    session.add(User(name="Ann", age=31))
    session.commit()
    users = session.query(User).filter(User.age > 30).all()
    reveal_type(users)
    scalars = session.execute(select(User).where(User.name == "Ann")).scalars().all()
    reveal_type(scalars)
    first = session.query(User).first()
    reveal_type(first)
    got = session.get(User, 1)
    reveal_type(got)
    reveal_type(users[0].name)
    reveal_type(User.age)
    users[0].age = 32
