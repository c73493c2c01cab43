"""Write ``version2.pytuck`` with a pytuck that writes binary format 2 (not a test).

    PYTHONPATH=<a checkout of pytuck at commit 2cbc889> python tests/engines/files/make_version2_fixture.py

The file is a format 2 snapshot of version2_rows.SNAPSHOT_ROWS followed by a
journal of three commits (an update, a delete, an insert), copied while the
storage was open, since closing would compact it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import version2_rows  # noqa: E402

from pytuck import Storage  # noqa: E402
from pytuck.schema import ColumnSchema, TableSchema  # noqa: E402

TABLE = TableSchema(
    "values",
    (ColumnSchema("id", int, primary_key=True, nullable=False),)
    + tuple(ColumnSchema(name, tp) for name, tp in version2_rows.COLUMNS.items()),
)


def main() -> None:
    """Write the fixture next to this script."""
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "version2.pytuck")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "db.pytuck")
        with Storage(path, engine="binary") as storage:
            storage.engine.ensure_table(TABLE)
            transaction = storage.engine.begin()
            transaction.insert(TABLE, version2_rows.SNAPSHOT_ROWS)
            transaction.commit()
        with Storage(path, engine="binary", compact_min_bytes=1 << 40) as storage:
            transaction = storage.engine.begin()
            transaction.update_rows(TABLE, [(2, {"c_str": version2_rows.UPDATED_TEXT})])
            transaction.commit()
            transaction = storage.engine.begin()
            transaction.delete_rows(TABLE, [3])
            transaction.commit()
            transaction = storage.engine.begin()
            transaction.insert(TABLE, [version2_rows.INSERTED_ROW])
            transaction.commit()
            shutil.copyfile(path, target)
    with open(target, "rb") as handle:
        assert handle.read(10)[8:] == b"\x00\x02", "run this with a pytuck writing format 2"


if __name__ == "__main__":
    main()
