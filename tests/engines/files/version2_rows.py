"""The rows of ``version2.pytuck``, a database written by pytuck before paged snapshots.

Shared by the script that wrote the file (make_version2_fixture.py, run
against the older pytuck) and the test that reads it; no pytuck import here,
so both can use it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

#: Column name -> Python type of the table "values" (key column "id", int).
COLUMNS: dict[str, type] = {
    "c_int": int, "c_float": float, "c_str": str, "c_bool": bool, "c_bytes": bytes,
    "c_naive": dt.datetime, "c_aware": dt.datetime, "c_date": dt.date, "c_time": dt.time,
    "c_timedelta": dt.timedelta, "c_decimal": Decimal, "c_uuid": uuid.UUID, "c_list": list,
    "c_dict": dict,
}

_UTC = dt.timezone.utc

#: Rows in the snapshot part of the file (format 2).
SNAPSHOT_ROWS: list[dict[str, Any]] = [
    {
        "id": 1, "c_int": -(2**63), "c_float": -0.0, "c_str": "Åsa \u2603", "c_bool": True,
        "c_bytes": b"\x00\xff", "c_naive": dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
        "c_aware": dt.datetime(2024, 3, 1, 19, 30, 15, 123456, tzinfo=_UTC),
        "c_date": dt.date(1, 1, 1), "c_time": dt.time(23, 59, 59, 1),
        "c_timedelta": dt.timedelta(days=-1, seconds=5, microseconds=7),
        "c_decimal": Decimal("1.50"), "c_uuid": uuid.UUID(int=2**100),
        "c_list": [1, 2.5, None, "x", {"deep": [True]}], "c_dict": {"$dt": "looks like a tag"},
    },
    {
        "id": 2, "c_int": 2**63 - 1, "c_float": float("inf"), "c_str": "", "c_bool": False,
        "c_bytes": b"", "c_naive": dt.datetime(1, 1, 1), "c_aware": None, "c_date": None,
        "c_time": dt.time(0, 0), "c_timedelta": dt.timedelta(0), "c_decimal": Decimal("-7E+3"),
        "c_uuid": None, "c_list": [], "c_dict": {},
    },
    {"id": 3, **{name: None for name in COLUMNS}},
]

#: What the journal after the snapshot does: update row 2's text, delete row 3, insert row 4.
UPDATED_TEXT = "changed in the journal"
INSERTED_ROW: dict[str, Any] = {"id": 4, **{name: None for name in COLUMNS}, "c_str": "inserted"}


def expected_rows() -> dict[int, dict[str, Any]]:
    """The rows the file holds once its journal is replayed, by key."""
    rows = {row["id"]: dict(row) for row in SNAPSHOT_ROWS}
    rows[2]["c_str"] = UPDATED_TEXT
    del rows[3]
    rows[4] = dict(INSERTED_ROW)
    return rows
