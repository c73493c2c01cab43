"""The ``pytuck`` command line: ``python -m pytuck demo`` and friends."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pytuck.crud import declarative_base
from pytuck.engines import available_engines
from pytuck.engines.base import canonical_engine_name
from pytuck.errors import ConfigurationError, PytuckError
from pytuck.model.column import Column
from pytuck.model.relationship import Relationship
from pytuck.query.expressions import or_
from pytuck.query.functions import func
from pytuck.query.statements import select
from pytuck.session import Session
from pytuck.storage import DEFAULT_ENGINE, Storage

__all__ = ["main", "run_demo"]


def run_demo(
    folder: Path, engine: str = DEFAULT_ENGINE, out: TextIO | None = None, dsn: str | None = None
) -> str:
    """Create a database in ``folder``, write, query, update and roll back, printing each step.

    Server engines (``postgresql``) need ``dsn``; the demo then works in a new
    schema named ``pytuck_demo_<random>``, which it leaves in place.

    Returns where the database is kept: the file path, or the DSN and schema.

    Raises:
        ConfigurationError: a server engine without ``dsn``.
        FileExistsError: the demo file already exists in ``folder``.
    """
    stream = out if out is not None else sys.stdout

    def say(text: str) -> None:
        print(text, file=stream)

    if canonical_engine_name(engine) == "postgresql":
        if not dsn:
            raise ConfigurationError(
                "the postgresql engine needs a server: pass --dsn postgresql://user@host:port/db"
            )
        schema = f"pytuck_demo_{secrets.token_hex(4)}"
        where = f"schema {schema} on the PostgreSQL server"
        say(f"pytuck demo — engine {engine!r}, database: {where}")
        storage = Storage(dsn, engine=engine, schema=schema)
    else:
        suffix = {"binary": ".pytuck", "json": ".json", "sqlite": ".sqlite", "duckdb": ".duckdb"}
        path = folder / f"demo{suffix.get(canonical_engine_name(engine), '.db')}"
        if path.exists():
            raise FileExistsError(
                f"{path} already exists (from an earlier demo?); delete it or pass another --dir"
            )
        where = str(path)
        say(f"pytuck demo — engine {engine!r}, database file: {path}")
        storage = Storage(path, engine=engine)
    Base = declarative_base(storage)  # noqa: N806 - a class

    class Author(Base):  # type: ignore[misc, valid-type]
        __tablename__ = "authors"
        id = Column(int, primary_key=True)
        name = Column(str, nullable=False, unique=True)
        country = Column(str, index=True)
        books = Relationship("books", foreign_key="author_id")

    class Book(Base):  # type: ignore[misc, valid-type]
        __tablename__ = "books"
        id = Column(int, primary_key=True)
        title = Column(str, nullable=False)
        year = Column(int, index="sorted")
        author_id = Column(int, index=True)
        tags = Column(list, default_factory=list)

    say("1. declared two models: Author (authors) and Book (books)")
    with Session(storage) as session:
        le_guin = Author(name="Ursula K. Le Guin", country="US")
        lem = Author(name="Stanisław Lem", country="PL")
        session.add_all([le_guin, lem])
        session.flush()
        session.add_all(
            [
                Book(title="A Wizard of Earthsea", year=1968, author_id=le_guin.id, tags=["fantasy"]),
                Book(title="The Dispossessed", year=1974, author_id=le_guin.id, tags=["sf"]),
                Book(title="Solaris", year=1961, author_id=lem.id, tags=["sf"]),
                Book(title="The Cyberiad", year=1965, author_id=lem.id, tags=["sf", "humour"]),
            ]
        )
        session.commit()
        durable = "durable on disk" if storage.engine.capabilities.persistent else "in memory"
        say(f"2. wrote 2 authors and 4 books, committed ({durable})")

        found = (
            session.query(Book)
            .filter(or_(Book.year < 1963, Book.title.contains("Earthsea")))
            .order_by(Book.year)
            .all()
        )
        say("3. query with or_(year < 1963, title contains 'Earthsea'):")
        for book in found:
            say(f"     {book.year}  {book.title}")
        per_author = session.execute(
            select(Book.author_id, func.count().label("books"), func.min(Book.year).label("first"))
            .group_by(Book.author_id)
            .order_by(Book.author_id)
        ).all()
        for row in per_author:
            author = session.get(Author, row.author_id)
            assert author is not None
            say(f"     {author.name}: {row.books} books, first in {row.first}")

        solaris = session.query(Book).filter_by(title="Solaris").one()
        solaris.year = 1962
        session.commit()
        say(f"4. updated Solaris' year to {solaris.year} and committed")

        solaris.year = 2099
        session.add(Book(title="Never Written", year=2100, author_id=lem.id))
        session.flush()
        count_before = session.query(Book).count()
        session.rollback()
        say(
            f"5. changed Solaris to 2099 and added a book ({count_before} books inside the "
            f"transaction), then rolled back: Solaris is {solaris.year} again, "
            f"{session.query(Book).count()} books"
        )
        titles = [
            b.title
            for b in session.query(Book).filter(Book.author_id == lem.id).order_by(Book.year)
        ]
        say(f"6. Lem's books now: {', '.join(titles)}")
    storage.close()
    say(f"done — the database is kept at {where}")
    return where


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pytuck``."""
    parser = argparse.ArgumentParser(prog="pytuck", description="pytuck command line")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="create a demo database and walk through the main job")
    demo.add_argument("--engine", default=DEFAULT_ENGINE, help=f"engine (default {DEFAULT_ENGINE})")
    demo.add_argument("--dir", default=None, help="folder for the database (default: a new temp folder)")
    demo.add_argument("--dsn", default=None, help="server DSN for the postgresql engine")
    commands.add_parser("engines", help="list the engines this installation can open")
    args = parser.parse_args(argv)
    if args.command == "demo":
        folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="pytuck-demo-"))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            run_demo(folder, args.engine, dsn=args.dsn)
        except (FileExistsError, PytuckError) as exc:
            print(f"pytuck demo: {exc}", file=sys.stderr)
            return 1
        return 0
    for name in available_engines():
        print(name)
    return 0
