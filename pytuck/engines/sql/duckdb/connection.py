"""The DuckDB database instance and its connections.

One database instance per file and process (DuckDB locks the file against
other processes), shared by every storage of that file in the process
(:class:`_Database`), holding the integer key counters (:class:`_Keys`) and
the ledger of rows each commit changed (:class:`_Ledger`). Each transaction
runs on its own connection (:class:`DuckdbConnection`), which logs its writes
to replay them for savepoints and after a failed statement.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import duckdb

from pytuck.engines.sql.connection import Connection
from pytuck.engines.sql.dialect import Dialect
from pytuck.engines.sql.duckdb.values import _register_functions
from pytuck.errors import (
    ConfigurationError,
    ConflictError,
    CorruptDatabaseError,
    DatabaseConnectionError,
    PytuckError,
)
from pytuck.schema import TableSchema

__all__ = ["DuckdbConnection"]

_KEYS_TABLE = "_pytuck_keys"
#: The name an Arrow table of rows is registered under for INSERT ... SELECT.
_RELATION = "_pytuck_rows"


# --- the shared database: keys and the ledger of changed rows ----------------------------


class _Keys:
    """Per table, the next integer key to assign (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next: dict[str, int] = {}

    def _load(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema) -> int:
        key = dialect.quote(table.primary_key)
        rows = connection.fetch(
            f"SELECT greatest(coalesce((SELECT max({key}) FROM {dialect.quote(table.name)}), 0), "
            f"coalesce((SELECT max(high) FROM {dialect.quote(_KEYS_TABLE)} WHERE name = ?), 0))",
            (table.name,),
        )
        return int(rows[0][0]) + 1

    def reserve(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema, count: int) -> int:
        """Hand out ``count`` keys; return the first."""
        with self.lock:
            first = self.next.get(table.name)
            if first is None:
                first = self._load(connection, dialect, table)
            self.next[table.name] = first + count
            return first

    def seen(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema, highest: int) -> None:
        """Never hand out ``highest`` or anything below it."""
        with self.lock:
            following = self.next.get(table.name)
            if following is None:
                following = self._load(connection, dialect, table)
            self.next[table.name] = max(following, highest + 1)

    def high(self, connection: DuckdbConnection, dialect: Dialect, table: TableSchema) -> int:
        """The highest key handed out or seen so far."""
        with self.lock:
            following = self.next.get(table.name)
            if following is None:
                following = self.next[table.name] = self._load(connection, dialect, table)
            return following - 1

    def forget(self, table: str) -> None:
        """The table was dropped: a table of that name starts afresh."""
        with self.lock:
            self.next.pop(table, None)


class _Ledger:
    """Which rows each commit changed, for first-committer-wins (module docstring).

    Sequence numbers count commits that wrote. A transaction remembers the
    sequence it began at; a row whose recorded sequence is higher was changed
    by a commit it could not see. Rows are only recorded while another
    transaction is open (nobody else could conflict), and forgotten once no
    open transaction began before them.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sequence = 0
        self.versions: dict[tuple[str, Any], int] = {}
        self.open: Counter[int] = Counter()

    def begin(self) -> int:
        """Register a transaction; return its start sequence."""
        with self.lock:
            start = self.sequence
            self.open[start] += 1
            return start

    def end(self, start: int) -> None:
        """A transaction that began at ``start`` ended."""
        with self.lock:
            self._end(start)

    def _end(self, start: int) -> None:
        self.open[start] -= 1
        if self.open[start] <= 0:
            del self.open[start]
        if not self.open:
            self.versions.clear()

    def changed_since(self, start: int, table: str, key: Any) -> bool:
        """True when a commit after ``start`` changed row ``key`` of ``table``."""
        return self.versions.get((table, key), 0) > start

    def committed(self, start: int, written: dict[str, set[Any]]) -> None:
        """Record a commit's changed rows and end its transaction (caller holds the lock)."""
        self._end(start)
        if not any(written.values()):
            return
        self.sequence += 1
        if not self.open:
            return
        sequence = self.sequence
        for table, keys in written.items():
            for key in keys:
                self.versions[(table, key)] = sequence
        if len(self.versions) > _LEDGER_PRUNE:
            oldest = min(self.open)
            self.versions = {k: v for k, v in self.versions.items() if v > oldest}


_LEDGER_PRUNE = 10_000


class _Database:
    """One duckdb database instance, shared by every engine on its file in this process."""

    def __init__(self, path: str, raw: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.raw = raw
        self.read_only = read_only
        self.users = 0
        self.keys = _Keys()
        self.ledger = _Ledger()
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to this database."""
        with self._lock:
            return self.raw.cursor()


_DATABASES: dict[str, _Database] = {}
_DATABASES_LOCK = threading.Lock()


def _open_database(path: str, read_only: bool, config: dict[str, Any]) -> _Database:
    """The shared instance of ``path``, opened on first use.

    Raises:
        CorruptDatabaseError: the file is not a DuckDB database.
        DatabaseConnectionError: the file cannot be opened (folder, lock, permissions).
        ConfigurationError: the file is open read-only in this process and a
            writable storage was asked for.
    """
    key = os.path.realpath(path)
    with _DATABASES_LOCK:
        database = _DATABASES.get(key)
        if database is None:
            try:
                raw = duckdb.connect(path, read_only=read_only, config=config)
            except duckdb.Error as exc:
                raise _open_error(path, exc) from exc
            try:
                _register_functions(raw)
            except BaseException:
                raw.close()
                raise
            database = _DATABASES[key] = _Database(key, raw, read_only)
        elif database.read_only and not read_only:
            raise ConfigurationError(
                f"{path} is already open read-only in this process; close that storage "
                "before opening it writable"
            )
        database.users += 1
        return database


def _close_database(database: _Database) -> None:
    with _DATABASES_LOCK:
        database.users -= 1
        if database.users > 0:
            return
        _DATABASES.pop(database.path, None)
    database.raw.close()


def _open_error(path: str, error: duckdb.Error) -> PytuckError:
    message = str(error)
    if "not a valid DuckDB database" in message:
        return CorruptDatabaseError(
            f"{path} cannot be opened as a duckdb database: {message}. The file was left "
            "untouched; restore it from a backup or open another file",
            details={"path": path},
        )
    hint = ""
    if "lock" in message.lower():
        hint = " (another process has it open: DuckDB allows one process per database file)"
    return DatabaseConnectionError(
        f"cannot open the duckdb database at {path}{hint}: {message}",
        details={"location": path},
    )


# --- connections ----------------------------------------------------------------------------


class _Write:
    """One write a transaction ran, kept to replay it (savepoints, recovery)."""

    __slots__ = ("sql", "params", "many", "relation", "table")

    def __init__(
        self,
        sql: str,
        params: Any,
        many: bool = False,
        relation: Any = None,
        table: TableSchema | None = None,
    ) -> None:
        self.sql = sql
        self.params = params
        self.many = many
        self.relation = relation
        self.table = table  # set for inserts: the rows' table

    def rows(self) -> list[Sequence[Any]]:
        """The driver rows an insert wrote (every column, in table order)."""
        if self.table is None:
            return []
        if self.relation is not None:
            return [tuple(row.values()) for row in self.relation.to_pylist()]
        if self.many:
            return [tuple(row) for row in self.params]
        width = len(self.table.columns)
        flat = list(self.params)
        return [tuple(flat[i : i + width]) for i in range(0, len(flat), width)]

    def replay(self, raw: duckdb.DuckDBPyConnection) -> None:
        """Run the write again."""
        if self.relation is not None:
            _insert_relation(raw, self.sql, self.relation)
        elif self.many:
            raw.executemany(self.sql, self.params)
        else:
            raw.execute(self.sql, self.params).fetchall()


def _insert_relation(raw: duckdb.DuckDBPyConnection, sql: str, relation: Any) -> None:
    raw.register(_RELATION, relation)
    try:
        raw.execute(sql).fetchall()
    finally:
        raw.unregister(_RELATION)


def _changed(rows: list[tuple[Any, ...]]) -> int:
    # A DuckDB write returns one row holding the count of rows it changed.
    return int(rows[0][0]) if rows and len(rows[0]) == 1 else -1


class DuckdbConnection(Connection):
    """One duckdb connection (``cursor()`` of the database) for one transaction at a time.

    It logs the writes of the open transaction. DuckDB aborts a transaction on
    any error, so after a failed statement the connection rolls back, begins
    again and replays the log: the transaction is as it was before the
    statement. :meth:`mark` and :meth:`restore` give savepoints the same way.
    """

    def __init__(self, database: _Database) -> None:
        self.database = database
        self.raw = database.cursor()
        self.log: list[_Write] = []
        self.active = False
        self.broken: str | None = None

    # --- statements ---
    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; every row."""
        self._usable()
        try:
            return self.raw.execute(sql, params).fetchall()
        except duckdb.Error:
            self._recover()
            raise

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write; the rows it changed."""
        return _changed(self.write(sql, params))

    def write(
        self, sql: str, params: Sequence[Any] = (), table: TableSchema | None = None
    ) -> list[tuple[Any, ...]]:
        """Run a write (maybe with RETURNING) and log it; every row it returns.

        ``table`` names the table of an INSERT of whole rows (to name a
        duplicate should the commit be refused).
        """
        self._usable()
        try:
            rows = self.raw.execute(sql, params).fetchall()
        except duckdb.Error:
            self._recover()
            raise
        if self.active:
            self.log.append(_Write(sql, params, table=table))
        return rows

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """``executemany`` (slow in DuckDB: the engine's own writes avoid it)."""
        self._usable()
        try:
            self.raw.executemany(sql, rows)
        except duckdb.Error:
            self._recover()
            raise
        if self.active:
            self.log.append(_Write(sql, rows, many=True))
        return -1

    def insert_relation(self, sql: str, relation: Any, table: TableSchema) -> None:
        """Run ``sql`` (an INSERT ... SELECT from ``_pytuck_rows``) over an Arrow table."""
        self._usable()
        try:
            _insert_relation(self.raw, sql, relation)
        except duckdb.Error:
            self._recover()
            raise
        if self.active:
            self.log.append(_Write(sql, None, relation=relation, table=table))

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Raw SQL: column names and rows (a write without RETURNING gives none)."""
        self._usable()
        cursor = self.raw.execute(sql, params)
        if cursor.description is None:
            return [], []
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description]
        if names == ["Count"] and _counts_only(sql):
            return [], []
        return names, rows

    # --- transactions ---
    def begin(self) -> None:
        """BEGIN TRANSACTION (snapshot isolation)."""
        self.raw.execute("BEGIN TRANSACTION")
        self.active = True
        self.log = []
        self.broken = None

    def commit(self) -> None:
        """COMMIT. If DuckDB refuses it, the transaction is over (its log stays for
        naming the duplicate until :meth:`rollback`)."""
        self._usable()
        try:
            self.raw.execute("COMMIT")
        finally:
            self.active = False
        self.log = []

    def rollback(self) -> None:
        """ROLLBACK the open transaction (nothing to do after a refused commit)."""
        if self.active:
            try:
                self.raw.execute("ROLLBACK")
            finally:
                self.active = False
        self.log = []
        self.broken = None

    def close(self) -> None:
        """Close the duckdb connection."""
        self.raw.close()

    # --- savepoints and recovery ---
    def mark(self) -> int:
        """A savepoint: the number of writes so far."""
        return len(self.log)

    def restore(self, position: int) -> None:
        """Undo every write after ``position``: roll back, begin, replay the rest.

        Raises:
            ConflictError: the earlier writes no longer apply (another
                transaction committed over them meanwhile); roll back and retry.
        """
        self._usable()
        kept = self.log[:position]
        try:
            self.raw.execute("ROLLBACK")
            self.raw.execute("BEGIN TRANSACTION")
            for entry in kept:
                entry.replay(self.raw)
        except duckdb.Error as exc:
            self.broken = (
                "the duckdb transaction could not be restored after an error or a savepoint "
                f"rollback ({exc}); another transaction committed over its writes. Roll back "
                "and retry"
            )
            try:
                self.raw.execute("ROLLBACK")
            except duckdb.Error:
                pass
            self.active = False
            raise ConflictError(self.broken) from exc
        self.log = kept

    def _recover(self) -> None:
        # DuckDB aborted the whole transaction: bring back all but the failed statement.
        if self.active and self.broken is None:
            try:
                self.restore(len(self.log))
            except ConflictError:
                pass  # the original error is reported; later use raises ConflictError

    def _usable(self) -> None:
        if self.broken is not None:
            raise ConflictError(self.broken)


def _counts_only(sql: str) -> bool:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return False
    kinds = (duckdb.StatementType.INSERT, duckdb.StatementType.UPDATE, duckdb.StatementType.DELETE)
    return bool(statements) and statements[-1].type in kinds and "RETURNING" not in sql.upper()
