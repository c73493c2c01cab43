"""The DuckDB engine: ``Storage("data.duckdb", engine="duckdb")`` on the duckdb driver.

One database instance per file and process (DuckDB locks the file against
other processes), shared by every ``Storage`` of that file in the process;
each transaction gets its own connection from it (``cursor()``), so sessions
are isolated from each other, even in one thread, and reads from several
threads run in parallel.

How DuckDB is made to keep the contract (DESIGN.md), rule by rule:

* **Savepoints.** DuckDB has no SAVEPOINT. Each transaction's connection
  keeps a log of the writes it ran; a savepoint is a position in that log,
  and rolling back to it is ROLLBACK, BEGIN and replaying the log up to the
  position. The same replay makes every statement atomic: DuckDB aborts the
  whole transaction on any error (a duplicate key, an overflow, a bad query),
  so after an error the connection restores the transaction as it was before
  the failed statement, and the session can go on as on the other engines.
* **Lost updates.** DuckDB refuses a write over a row another transaction
  changed after this one began, but not always: whether it notices depends
  on how the other write was made (on duckdb 2.0.1, a DELETE after another
  transaction's UPDATE without RETURNING of the row passes silently). A
  ledger per database (``connection._Ledger``) therefore remembers which rows each
  commit changed; an update or delete of a row changed by a commit after this
  transaction began raises ConflictError (first committer wins, as the memory
  engine does), checked when the write runs and again, under the commit lock,
  at commit.
* **Unique keys.** DuckDB reports a duplicate at the statement, or at commit
  when two transactions inserted one value; both become DuplicateKeyError with
  the memory engine's message (a failed commit is probed on a fresh connection
  to name the table, column and value).
* **Integer keys** left empty come from a per-table counter of the database
  instance (``connection._Keys``): increasing, never reused, past every explicit
  key. DuckDB sequences cannot be moved forward past an explicit key, and the
  counter needs no shared row that concurrent inserts would fight over. It
  starts from the highest stored key, and a transaction that deletes rows
  also writes the counter's high-water mark into ``_pytuck_keys``, so a
  deleted highest key is not handed out again after reopening.
* **Decimal** keeps digits and scale: a ``STRUCT(key VARCHAR, text VARCHAR)``
  holding the exact text and an order-preserving key (:func:`decimal_key`,
  equal for ``1.5`` and ``1.50``), so comparisons, ordering, grouping,
  DISTINCT and unique indexes are exact and native. Arithmetic, sum and avg
  over Decimals, and comparisons of a Decimal with a float, run in Python
  functions registered on the database, computing exactly as the memory
  engine does. (DuckDB's DECIMAL(p, s) has a fixed scale and at most 38
  digits, so it can keep neither ``1.50`` next to ``1.5`` nor the contract's
  widest values.)
* **datetime** is ``STRUCT(utc TIMESTAMP, aware BOOLEAN)``: the UTC wall clock
  (compared, ordered and indexed natively) and whether the value was aware,
  so naive and aware values in one column each come back as they went in.
* **timedelta** is BIGINT microseconds (exact over the contract's range;
  DuckDB's INTERVAL compares months as 30 days). UUID, DATE, TIME, BLOB and
  BOOLEAN are native; list/dict are JSON text with sorted keys, compared as
  Python's ``==`` compares documents (``{"a": 1} == {"a": 1.0}``) through a
  registered function, grouped and made DISTINCT by their exact text.
* **Numbers.** int compared with float is exact (Python compares them
  exactly; DuckDB would round the int to a double); ``//`` floors and ``%``
  takes the divisor's sign; floats' ``//`` and ``%`` run in Python (DuckDB's
  ``//`` on doubles does not floor); ``sum`` of ints is DuckDB's HUGEINT,
  which arrives as a Python int.
* **Grouping.** DuckDB binds a selected expression to a GROUP BY term only
  when both are the same expression, and two bound values never are
  (``i % ?`` twice); Decimals group by key, not by the selected struct. Such
  grouped SELECTs wrap their plain items and order terms in ``min``, which
  picks one of a group's equal values (``engine._grouped_for_duckdb``; an item
  that repeats a group term the shared compiler already writes by position).
* **Text.** ``like`` is case-sensitive in DuckDB; ``ilike`` folds ASCII only
  with TRANSLATE (DuckDB's ILIKE and lower() fold all of Unicode). VARCHAR
  compares by bytes, which orders UTF-8 by code point.
* **Bulk insert** goes through Arrow: the rows become a ``pyarrow.Table``,
  registered on the connection and inserted with one INSERT ... SELECT
  (measured at 100k rows: ~0.3 s, where executemany costs ~0.5 ms a row,
  ~50 s); up to ``_VALUES_ROWS`` rows go in as one multi-row VALUES.

The package, bottom up: ``values`` (encodings and the Python functions
registered on every database), ``connection`` (the shared database instance,
its key counters and ledger, connections with their write log), ``dialect``
(:class:`DuckdbDialect`), ``engine`` (:class:`DuckdbTransaction`,
:class:`DuckdbEngine`). Importing the package registers the engine.
"""

from __future__ import annotations

from pytuck.engines.base import register_engine
from pytuck.engines.sql.duckdb.connection import DuckdbConnection
from pytuck.engines.sql.duckdb.dialect import DuckdbDialect
from pytuck.engines.sql.duckdb.engine import DuckdbEngine, DuckdbTransaction
from pytuck.engines.sql.duckdb.values import decimal_from_key, decimal_key

__all__ = [
    "DuckdbDialect",
    "DuckdbConnection",
    "DuckdbTransaction",
    "DuckdbEngine",
    "decimal_key",
    "decimal_from_key",
]

register_engine("duckdb", DuckdbEngine)
