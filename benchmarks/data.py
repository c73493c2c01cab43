"""The benchmark data set and workload parameters, derived from one seed.

Every system's process calls :func:`make_rows` and :func:`make_workload` with
the same ``(n, seed)`` and so gets the same rows and the same query arguments;
:func:`rows_digest` lets the orchestrator prove it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "AGE_MAX",
    "AGE_MIN",
    "CITIES",
    "FIELDS",
    "RANGE_WIDTH",
    "Workload",
    "make_extra_rows",
    "make_rows",
    "make_workload",
    "row_at",
    "rows_digest",
]

#: Column order of the users table, as every adapter creates it.
FIELDS = ("id", "name", "email", "age", "score", "active", "city", "created_at", "tags")

_GIVEN = [
    "Ama", "Bo", "Cleo", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kaia", "Lior", "Mina", "Nils", "Oona", "Pavel", "Quinn", "Rosa", "Sami", "Tariq",
    "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zora", "Anton", "Bianca", "Caspar", "Dalia",
    "Emil", "Fatima", "Gustav", "Hana", "Ivo", "Jana", "Kenji", "Lena", "Marek", "Noor",
    "Olek", "Priya", "Rafael", "Sanna", "Timo", "Ulla", "Vera", "Wanda", "Yara", "Zeno",
]
_FAMILY = [
    "Abara", "Berg", "Costa", "Dahl", "Eze", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lund", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi", "Silva", "Tanaka",
    "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Alves", "Bauer", "Chen", "Diaz",
    "Ekström", "Ferrari", "Gomez", "Horvat", "Iyer", "Jovanovic", "Kim", "Larsen", "Meyer", "Novak",
    "Olsen", "Park", "Ramos", "Santos", "Torres", "Urban", "Vogel", "Wong", "Young", "Zimmer",
]
#: The 50 cities rows are drawn from (``city`` is deliberately not indexed).
CITIES = [
    "Accra", "Adelaide", "Algiers", "Ankara", "Antwerp", "Asuncion", "Baku", "Belgrade",
    "Bergen", "Bern", "Bilbao", "Bordeaux", "Bratislava", "Bremen", "Brno", "Calgary",
    "Cork", "Dakar", "Dresden", "Durban", "Gdansk", "Geneva", "Graz", "Hamburg",
    "Hobart", "Kampala", "Kaunas", "Krakow", "La Paz", "Leeds", "Leipzig", "Linz",
    "Lyon", "Malmo", "Medellin", "Minsk", "Nantes", "Naples", "Osaka", "Porto",
    "Quito", "Recife", "Salzburg", "Seville", "Tallinn", "Tampere", "Turin", "Utrecht",
    "Valencia", "Zagreb",
]
_TAGS = ["red", "orange", "yellow", "green", "blue", "indigo", "violet", "black", "white", "grey",
         "north", "south", "east", "west", "up", "down", "left", "right", "in", "out"]

AGE_MIN = 18
AGE_MAX = 79
#: ``age BETWEEN a AND a + RANGE_WIDTH`` (inclusive: 6 of the 62 ages, ~9.7 % of the rows).
RANGE_WIDTH = 5
_EPOCH = datetime(2020, 1, 1)
_SPAN_SECONDS = 4 * 365 * 86400


def make_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` user rows with ids ``1..n``; the same ``(n, seed)`` always gives the same rows.

    Each row is a plain dict with the Python types of the model: int, str,
    float, bool, naive datetime and a list of str.
    """
    return list(_iter_rows(n, seed))


def row_at(n: int, seed: int, key: int) -> dict[str, Any]:
    """Row ``key`` (1-based) of ``make_rows(n, seed)``, without keeping the others in memory."""
    if not 1 <= key <= n:
        raise ValueError(f"key {key} is outside 1..{n}")
    for row in _iter_rows(n, seed):
        if row["id"] == key:
            return row
    raise AssertionError("unreachable: every key in 1..n is generated")


def _iter_rows(n: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"pytuck-bench-rows:{seed}:{n}")
    return (_row(rng, i) for i in range(1, n + 1))


def make_extra_rows(count: int, first_id: int, seed: int) -> list[dict[str, Any]]:
    """``count`` more rows with ids ``first_id, first_id + 1, ...``, for single-row commits.

    Drawn from their own random stream, so they do not depend on how many
    rows the database already holds.
    """
    rng = random.Random(f"pytuck-bench-extra-rows:{seed}")
    return [_row(rng, i) for i in range(first_id, first_id + count)]


def _row(rng: random.Random, i: int) -> dict[str, Any]:
    given = rng.choice(_GIVEN)
    family = rng.choice(_FAMILY)
    return {
        "id": i,
        "name": f"{given} {family}",
        "email": f"{given.lower()}.{family.lower()}.{i}@example.org",
        "age": rng.randint(AGE_MIN, AGE_MAX),
        "score": round(rng.random() * 100.0, 3),
        "active": rng.random() < 0.7,
        "city": rng.choice(CITIES),
        "created_at": _EPOCH + timedelta(seconds=rng.randrange(_SPAN_SECONDS)),
        "tags": rng.sample(_TAGS, rng.randint(0, 4)),
    }


def rows_digest(rows: list[dict[str, Any]]) -> str:
    """A short digest of the rows, to prove every process generated the same data."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row[field] for field in FIELDS)).encode())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Workload:
    """The arguments of every operation group, identical for every system.

    Attributes:
        get_keys: distinct primary keys to fetch one by one.
        names: arguments of the indexed equality queries (``name == x``).
        cities: arguments of the full-scan equality queries (``city == x``).
        age_ranges: ``(lo, hi)`` of the range queries (``age BETWEEN lo AND hi``).
        or_args: ``(age, name)`` of the OR queries (``age < a OR name == x``).
        updates: ``(id, new_age, new_score)``, one commit each.
        delete_keys: distinct primary keys to delete, one commit each
            (disjoint from the updated keys).
    """

    get_keys: list[int]
    names: list[str]
    cities: list[str]
    age_ranges: list[tuple[int, int]]
    or_args: list[tuple[int, str]]
    updates: list[tuple[int, int, float]]
    delete_keys: list[int]


def make_workload(rows: list[dict[str, Any]], seed: int) -> Workload:
    """The operation arguments for ``rows`` (sizes shrink only when there are too few rows)."""
    rng = random.Random(f"pytuck-bench-workload:{seed}:{len(rows)}")
    n = len(rows)
    keys = range(1, n + 1)
    get_keys = rng.sample(keys, min(1000, n))
    names = [rng.choice(rows)["name"] for _ in range(200)]
    cities = [rng.choice(CITIES) for _ in range(20)]
    starts = [rng.randint(AGE_MIN, AGE_MAX - RANGE_WIDTH) for _ in range(50)]
    age_ranges = [(lo, lo + RANGE_WIDTH) for lo in starts]
    # age < a with a a few years above the minimum keeps each OR answer to a
    # few thousand rows, the size a user would fetch; the name side adds rows
    # the age side does not cover.
    or_args = [(rng.randint(AGE_MIN + 1, AGE_MIN + 5), rng.choice(rows)["name"]) for _ in range(20)]
    writes = min(1000, n // 2)
    chosen = rng.sample(keys, 2 * writes)
    updates = [
        (key, rng.randint(AGE_MIN, AGE_MAX), round(rng.random() * 100.0, 3))
        for key in chosen[:writes]
    ]
    delete_keys = chosen[writes:]
    return Workload(get_keys, names, cities, age_ranges, or_args, updates, delete_keys)
