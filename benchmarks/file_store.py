"""The interface every system of the file suite implements (``benchmarks.files``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

__all__ = ["FileStore"]


class FileStore(ABC):
    """One file database (or baseline) of the file suite.

    A store is built, then opened; :meth:`insert_one` commits one row durably
    (what "durable" means differs between systems: ``notes`` says it).

    Args:
        variant: what the spec names after its colon (an engine), or ``""``.
    """

    #: Column heading in the report.
    label: str = ""
    #: How the system is set up: engine, durability, what a commit does.
    notes: str = ""
    #: File name suffix of the database file.
    suffix: str = ".db"
    #: The phases this store takes part in: ``build``, ``probe``, ``commits``.
    phases: frozenset[str] = frozenset({"build", "probe", "commits"})
    #: False for baselines that cannot read a row back (the append floor).
    readable: bool = True

    def __init__(self, variant: str) -> None:
        self.variant = variant

    @abstractmethod
    def build(self, path: Path, rows: list[dict[str, Any]]) -> None:
        """Create a new database at ``path`` holding ``rows`` (possibly none), and close it."""

    @abstractmethod
    def open(self, path: Path) -> None:
        """Open the existing database at ``path`` as a user would (schema or model included)."""

    def insert_one(self, row: dict[str, Any]) -> None:
        """Insert ``row`` and commit it durably, as this system's users do."""
        raise NotImplementedError(f"{self.label} has no single-row commit")

    @abstractmethod
    def get(self, key: int) -> dict[str, Any] | None:
        """The row with primary key ``key`` (at least :data:`ANSWER_FIELDS`), or None."""

    @abstractmethod
    def count(self) -> int:
        """Rows in the database."""

    @abstractmethod
    def close(self) -> None:
        """Close the database (file engines may compact here)."""

    def versions(self) -> dict[str, str]:
        """Library versions worth recording next to the results."""
        return {}
