"""The generic SQL engine: :class:`SqlEngine` and :class:`SqlTransaction` over a small seam.

# Interface: STABLE  (Connection, ConnectionPool, SimplePool, SqlEngine constructor)

Each SQL engine module supplies three things and registers an engine class:

* a :class:`~pytuck.engines.sql.dialect.Dialect` subclass (SQL differences);
* a :class:`Connection` subclass wrapping one driver connection;
* a :class:`ConnectionPool` handing out those connections (:class:`SimplePool`
  suits drivers whose connections are cheap to keep idle).

Everything else lives here, once: the metadata table of schemas, key
assignment, the mapping of driver errors to pytuck errors, savepoints and
compiled-statement execution.

Isolation (DESIGN.md, Transactions): every :class:`SqlTransaction` takes its
own connection from the pool at :meth:`SqlEngine.begin` and gives it back at
commit or rollback, so two sessions, even in one thread, never share one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from pytuck.engines.base import Capabilities, Engine, EngineTransaction
from pytuck.engines.sql.compiler import Compiler
from pytuck.engines.sql.connection import Connection, ConnectionPool
from pytuck.engines.sql.dialect import Adapter, Dialect, ErrorKind
from pytuck.errors import (
    ConflictError,
    CorruptDatabaseError,
    DatabaseConnectionError,
    DuplicateKeyError,
    IntegrityError,
    PytuckError,
    QueryError,
    ReadOnlyError,
    SchemaError,
    TableNotFoundError,
    TransactionError,
    ValidationError,
)
from pytuck.query.expressions import Literal
from pytuck.query.result import row_class
from pytuck.query.statements import Delete, Select, Update
from pytuck.schema import TableSchema
from pytuck.types import SUPPORTED_TYPES

__all__ = [
    "SqlEngine",
    "SqlTransaction",
    "duplicate_error",
]


Row = dict[str, Any]
_Reader = Callable[[Sequence[Any]], tuple[Any, ...]]


def _mask_password(location: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    scheme, separator, rest = location.partition("://")
    if not separator or "@" not in rest:
        return location
    credentials, _, host = rest.rpartition("@")
    if ":" not in credentials:
        return location
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


class SqlTransaction(EngineTransaction):
    """One transaction on its own connection (see the module docstring)."""

    def __init__(self, engine: SqlEngine, connection: Connection) -> None:
        self.engine = engine
        self.connection = connection
        self.dialect = engine.dialect
        self.compiler = engine.compiler
        self.closed = False
        self._savepoints = 0

    # --- helpers ----------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise TransactionError("this transaction is already committed or rolled back")

    def _check_write(self, action: str, table: str) -> None:
        self._check_open()
        if self.engine.read_only:
            raise self.engine.refusal(action, table)

    def _fail(
        self, error: BaseException, table: TableSchema | None = None, rows: Sequence[Row] = ()
    ) -> PytuckError:
        return self.engine.translate(error, table, rows, self.connection)

    # --- reads -------------------------------------------------------------------
    def select(self, statement: Select[Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT inside the database; rows come back as the columns' Python types."""
        self._check_open()
        table = statement.table
        self.engine.require_table(table.name)
        compiled, literals = self.compiler.select(statement)
        try:
            rows = self.connection.fetch(compiled.sql, compiled.parameters(literals))
        except self.dialect.driver_errors as exc:
            raise self._fail(exc, table) from exc
        return compiled.convert(rows)

    def get(self, table: TableSchema, pk: Any) -> tuple[Any, ...] | None:
        """The row with primary key ``pk``, or None (also for a key of the wrong type)."""
        if self.closed:
            self._check_open()
        sql, adapt, read = self.engine.getter(table)
        try:
            key = pk if pk is None or adapt is None else adapt(pk)
        except (TypeError, ValueError, AttributeError):
            return None  # a key that cannot be a key of this table matches no row
        try:
            rows = self.connection.fetch(sql, (key,))
        except self.dialect.driver_errors as exc:
            raise self._fail(exc, table) from exc
        if not rows:
            return None
        return rows[0] if read is None else read(rows[0])

    # --- writes ------------------------------------------------------------------
    def insert(self, table: TableSchema, rows: Sequence[Row]) -> list[Any]:
        """Insert rows in one bulk statement; assign integer keys left empty.

        Keys are numbered from ``Dialect.reserve_keys`` in row order; an
        explicit key moves the numbering past it, as in the memory engine.

        Raises:
            DuplicateKeyError: a primary key or unique value is taken.
            ValidationError: NULL in a NOT NULL column.
            IntegrityError: a non-integer primary key is missing.
        """
        self._check_write("insert rows into", table.name)
        self.engine.require_table(table.name)
        if not rows:
            return []
        names = table.column_names
        key_name = table.primary_key
        key_index = names.index(key_name)
        values = [list(map(row.get, names)) for row in rows]
        missing = sum(1 for row in values if row[key_index] is None)
        autoincrement = table.column(key_name).autoincrement
        connection = self.connection
        keys: list[Any] = []
        try:
            if missing and not autoincrement:
                raise IntegrityError(
                    f"{table.name}.{key_name}: a primary key is required for this table "
                    "(only integer keys are assigned automatically)",
                    table_name=table.name,
                    column_name=key_name,
                )
            highest: int | None = None
            if autoincrement:
                next_key = self.dialect.reserve_keys(connection, table, missing) if missing else 0
                for row in values:
                    key = row[key_index]
                    if key is None:
                        row[key_index] = key = next_key
                        next_key += 1
                    elif isinstance(key, int) and not isinstance(key, bool) and key >= next_key:
                        next_key = key + 1
                    if isinstance(key, int) and (highest is None or key > highest):
                        highest = key
            keys = [row[key_index] for row in values]
            adapters = self.engine.row_writer(table)
            for row in values:
                for index, adapt in adapters:
                    value = row[index]
                    if value is not None:
                        row[index] = adapt(value)
            self.dialect.bulk_insert(connection, table, values)
            if highest is not None:
                self.dialect.keys_inserted(connection, table, highest)
        except self.dialect.driver_errors as exc:
            if keys:  # name the duplicate among the rows as they were sent, keys included
                rows = [{**row, key_name: key} for row, key in zip(rows, keys)]
            raise self._fail(exc, table, rows) from exc
        return keys

    def update_rows(self, table: TableSchema, changes: Sequence[tuple[Any, Row]]) -> int:
        """Set new values on rows by key; return how many of the rows exist."""
        self._check_write("update rows of", table.name)
        self.engine.require_table(table.name)
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        key_adapt = self.engine.key_adapter(table)
        empty: list[Any] = []
        for pk, new in changes:
            key = pk if key_adapt is None or pk is None else key_adapt(pk)
            if not new:
                empty.append(key)
                continue
            names = tuple(new)
            params = [self.engine.adapt_value(table, name, value) for name, value in new.items()]
            params.append(key)
            groups.setdefault(names, []).append(params)
        count = 0
        try:
            for names, params_list in groups.items():
                sql = self.compiler.plain("update", table, names)
                count += self.connection.run_many(sql, params_list)
            sql = self.compiler.plain("get", table)
            for key in empty:
                count += bool(self.connection.fetch(sql, (key,)))
        except self.dialect.driver_errors as exc:
            written = [{**new, table.primary_key: pk} for pk, new in changes]
            raise self._fail(exc, table, written) from exc
        return count

    def delete_rows(self, table: TableSchema, pks: Sequence[Any]) -> int:
        """Delete rows by key; return how many existed."""
        self._check_write("delete rows of", table.name)
        self.engine.require_table(table.name)
        if not pks:
            return 0
        key_adapt = self.engine.key_adapter(table)
        params = [[pk if key_adapt is None or pk is None else key_adapt(pk)] for pk in pks]
        try:
            return self.connection.run_many(self.compiler.plain("delete", table), params)
        except self.dialect.driver_errors as exc:
            raise self._fail(exc, table) from exc

    def update(self, statement: Update) -> int:
        """Run an UPDATE inside the database; return the number of rows matched."""
        table = statement.table
        self._check_write("update rows of", table.name)
        self.engine.require_table(table.name)
        compiled, literals = self.compiler.update(statement)
        try:
            return self.connection.run(compiled.sql, compiled.parameters(literals))
        except self.dialect.driver_errors as exc:
            assigned = {
                name: expr.value for name, expr in statement.assignments if isinstance(expr, Literal)
            }
            raise self._fail(exc, table, [assigned]) from exc

    def delete(self, statement: Delete) -> int:
        """Run a DELETE inside the database; return the number of rows removed."""
        table = statement.table
        self._check_write("delete rows of", table.name)
        self.engine.require_table(table.name)
        compiled, literals = self.compiler.delete(statement)
        try:
            return self.connection.run(compiled.sql, compiled.parameters(literals))
        except self.dialect.driver_errors as exc:
            raise self._fail(exc, table) from exc

    # --- savepoints and the end ----------------------------------------------------
    def _run(self, sql: str) -> None:
        try:
            self.connection.run(sql)
        except self.dialect.driver_errors as exc:
            raise self._fail(exc) from exc

    def savepoint(self) -> str:
        """Open a SAVEPOINT; its name is the token."""
        self._check_open()
        self._savepoints += 1
        name = f"pytuck_savepoint_{self._savepoints}"
        self._run(self.dialect.savepoint_sql(name))
        return name

    def rollback_to(self, token: Any) -> None:
        """ROLLBACK TO the savepoint (it stays open)."""
        self._check_open()
        self._run(self.dialect.rollback_to_sql(token))

    def release(self, token: Any) -> None:
        """RELEASE the savepoint, keeping its changes."""
        self._check_open()
        self._run(self.dialect.release_sql(token))

    def commit(self) -> None:
        """COMMIT and give the connection back to the pool.

        Raises:
            ConflictError: the database refused the commit (a lost race);
                the transaction stays open for :meth:`rollback`.
        """
        self._check_open()
        try:
            self.connection.commit()
        except self.dialect.driver_errors as exc:
            raise self._fail(exc) from exc
        self._finish(reusable=True)

    def rollback(self) -> None:
        """ROLLBACK and give the connection back (a no-op once finished)."""
        if self.closed:
            return
        reusable = True
        try:
            self.connection.rollback()
        except self.dialect.driver_errors:
            reusable = False  # a connection that cannot roll back is not handed out again
        self._finish(reusable)

    def _finish(self, reusable: bool) -> None:
        self.closed = True
        self.engine.pool.release(self.connection, reusable)


class SqlEngine(Engine):
    """An engine on a SQL database, driven through a dialect and a connection pool.

    Subclasses (one per database) set :attr:`name` and :attr:`capabilities`,
    build their dialect and pool, and call this constructor.

    ``auto_flush`` is accepted by the subclasses and ignored: every commit of
    a SQL engine is durable when it returns.

    Args:
        dialect: the database's SQL differences.
        pool: where transactions get their connections.
        location: the database file or DSN (errors show it password-masked).
        read_only: refuse every write with :class:`~pytuck.errors.ReadOnlyError`.

    Raises:
        DatabaseConnectionError: the database cannot be reached or opened.
        CorruptDatabaseError: the file is not a database of this engine.
    """

    capabilities = Capabilities(persistent=True, sql=True, savepoints=True)

    def __init__(
        self, dialect: Dialect, pool: ConnectionPool, location: str, *, read_only: bool = False
    ) -> None:
        self.dialect = dialect
        self.pool = pool
        self.location = location
        self.display_location = _mask_password(location)
        self.read_only = read_only
        self.compiler = Compiler(dialect)
        self.closed = False
        self._lock = threading.RLock()
        self._schemas: dict[str, TableSchema] = {}
        self._readers: dict[str, _Reader | None] = {}
        self._getters: dict[str, tuple[str, Adapter, _Reader | None]] = {}
        self._writers: dict[str, tuple[tuple[int, Callable[[Any], Any]], ...]] = {}
        self._column_adapters: dict[str, dict[str, Adapter]] = {}
        try:
            self._open()
        except BaseException:
            self.pool.close()
            raise

    # --- connections -------------------------------------------------------------
    def _acquire(self) -> Connection:
        if self.closed:
            raise TransactionError(
                f"this storage is closed ({self.display_location}); open a new Storage to use it"
            )
        try:
            return self.pool.acquire()
        except self.dialect.driver_errors as exc:
            raise self.translate(exc) from exc
        except OSError as exc:
            raise DatabaseConnectionError(
                f"cannot connect to the {self.name} database at {self.display_location}: {exc}",
                details={"location": self.display_location},
            ) from exc

    def _in_transaction(self, work: Callable[[Connection], Any]) -> Any:
        """Run ``work(connection)`` in a transaction of its own and commit it."""
        connection = self._acquire()
        reusable = True
        try:
            connection.begin()
            result = work(connection)
            connection.commit()
            return result
        except BaseException as exc:
            try:
                connection.rollback()
            except self.dialect.driver_errors:
                reusable = False
            if isinstance(exc, self.dialect.driver_errors):
                raise self.translate(exc) from exc
            raise
        finally:
            self.pool.release(connection, reusable)

    def _open(self) -> None:
        schema_table = self.dialect.quote(self.dialect.schema_table)
        if not self.read_only:

            def create(connection: Connection) -> None:
                for statement in self.dialect.schema_table_sql():
                    connection.run(statement)

            self._retrying(lambda: self._in_transaction(create))
        try:
            rows = self._in_transaction(
                lambda c: c.fetch(f"SELECT name, definition FROM {schema_table}")
            )
        except QueryError:
            if not self.read_only:
                raise
            rows = []  # a read-only database that pytuck never wrote to: no tables
        with self._lock:
            for name, definition in rows:
                self._schemas[name] = self._parse(name, definition)

    def _retrying(self, work: Callable[[], Any]) -> Any:
        # Schema changes racing with another process: the loser retries
        # against what the winner committed.
        for _attempt in range(_SCHEMA_RETRIES):
            try:
                return work()
            except ConflictError:
                continue
        return work()

    def _parse(self, name: str, definition: str) -> TableSchema:
        try:
            return TableSchema.from_dict(orjson.loads(definition))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise CorruptDatabaseError(
                f"{self.display_location}: the stored schema of table {name!r} cannot be read "
                f"({exc}); the database was left untouched",
                table_name=name,
            ) from exc

    # --- errors --------------------------------------------------------------------
    def refusal(self, action: str, table: str | None = None) -> ReadOnlyError:
        """The error for a write attempted through a read-only engine."""
        what = f"{action} table {table!r}" if table is not None else action
        return ReadOnlyError(
            f"cannot {what}: {self.display_location} is open read-only; "
            "open it without read_only=True to write",
            table_name=table,
            details={"path": self.display_location},
        )

    def translate(
        self,
        error: BaseException,
        table: TableSchema | None = None,
        rows: Sequence[Row] = (),
        connection: Connection | None = None,
    ) -> PytuckError:
        """The pytuck error for a driver exception (raise it ``from error``).

        ``rows`` are the rows being written (stored column name -> Python
        value), used to name the duplicate value of a unique violation.
        """
        info = self.dialect.classify_error(error)
        kind = info.kind
        message = str(error).strip() or type(error).__name__
        table_name = table.name if table is not None else None
        where = table_name or self.display_location
        column = _resolve_column(table, info.column)
        if kind is ErrorKind.UNIQUE and table is not None:
            if column is None:
                return DuplicateKeyError(
                    f"{table.name}: a unique value is already taken ({message}); use another "
                    "value, or update the existing row",
                    table_name=table.name,
                )
            value = self._duplicate_value(table, column, rows, info.value, connection)
            return duplicate_error(table.name, column, value, table.primary_key == column)
        if kind is ErrorKind.NOT_NULL:
            column = column or info.column
            label = f"{where}.{column}" if column else where
            return ValidationError(
                f"{label}: NULL is not allowed (nullable=False)",
                table_name=table_name,
                column_name=column,
            )
        if kind is ErrorKind.UNIQUE:
            return DuplicateKeyError(f"{where}: a unique value is already taken ({message})")
        if kind is ErrorKind.CONFLICT:
            return ConflictError(
                f"{where}: another transaction changed the database after this one read it, "
                f"or holds its write lock ({message}); roll back and retry",
                table_name=table_name,
            )
        if kind is ErrorKind.CONNECTION:
            return DatabaseConnectionError(
                f"cannot connect to the {self.name} database at {self.display_location}: {message}",
                details={"location": self.display_location},
            )
        if kind is ErrorKind.READ_ONLY:
            return ReadOnlyError(
                f"{where}: the {self.name} database at {self.display_location} refuses writes "
                f"({message}); open it writable to change it",
                table_name=table_name,
            )
        if kind is ErrorKind.CORRUPT:
            return CorruptDatabaseError(
                f"{self.display_location} cannot be opened as a {self.name} database: {message}. "
                "The file was left untouched; restore it from a backup or open another file",
                details={"path": self.display_location},
            )
        if kind is ErrorKind.QUERY:
            return QueryError(
                f"{where}: the {self.name} database refused the statement: {message}",
                table_name=table_name,
            )
        return PytuckError(
            f"{where}: the {self.name} database failed: {message}", table_name=table_name
        )

    def _duplicate_value(
        self,
        table: TableSchema,
        column: str,
        rows: Sequence[Row],
        printed: str | None,
        connection: Connection | None,
    ) -> Any:
        candidates = [row[column] for row in rows if row.get(column) is not None]
        if len(candidates) == 1:
            return candidates[0]
        seen: list[Any] = []
        for value in candidates:
            if value in seen:
                return value  # taken twice within the batch itself
            seen.append(value)
        if connection is not None and self.dialect.statement_error_keeps_transaction:
            # Rows of a batch written before the failing one are still in the
            # table: a value is the duplicate when a row *other than its own*
            # holds it.
            quote, mark = self.dialect.quote, self.dialect.placeholder
            key = table.primary_key
            sql = (
                f"SELECT 1 FROM {quote(table.name)} WHERE {quote(column)} = {mark(1)} "
                f"AND ({mark(2)} IS NULL OR {quote(key)} <> {mark(3)})"
            )
            for row in rows[:_DUPLICATE_PROBES]:
                value = row.get(column)
                if value is None:
                    continue
                own = self.adapt_value(table, key, row.get(key))
                try:
                    if connection.fetch(sql, (self.adapt_value(table, column, value), own, own)):
                        return value
                except self.dialect.driver_errors:
                    break
        return printed

    # --- per-table adapters ------------------------------------------------------
    def column_adapter(self, table: TableSchema, column: str) -> Adapter:
        """The driver adapter of one column's values."""
        adapters = self._column_adapters.get(table.name)
        if adapters is None:
            adapters = {c.name: self.dialect.to_driver(c.type) for c in table.columns}
            self._column_adapters[table.name] = adapters
        return adapters.get(column)

    def adapt_value(self, table: TableSchema, column: str, value: Any) -> Any:
        """One Python value of ``column`` as the driver takes it."""
        if value is None:
            return None
        adapt = self.column_adapter(table, column)
        return value if adapt is None else adapt(value)

    def key_adapter(self, table: TableSchema) -> Adapter:
        """The driver adapter of the primary key's values."""
        return self.column_adapter(table, table.primary_key)

    def row_writer(self, table: TableSchema) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        """(column index, adapter) for each column whose values need adapting."""
        writer = self._writers.get(table.name)
        if writer is None:
            pairs = []
            for index, column in enumerate(table.columns):
                adapt = self.dialect.to_driver(column.type)
                if adapt is not None:
                    pairs.append((index, adapt))
            writer = self._writers[table.name] = tuple(pairs)
        return writer

    def getter(self, table: TableSchema) -> tuple[str, Adapter, _Reader | None]:
        """What ``get`` needs for ``table``: its SQL, the key's adapter and the row reader.

        Raises:
            TableNotFoundError: the table does not exist.
        """
        getter = self._getters.get(table.name)
        if getter is None:
            self.require_table(table.name)
            getter = (
                self.compiler.plain("get", table),
                self.key_adapter(table),
                self.row_reader(table),
            )
            self._getters[table.name] = getter
        return getter

    def row_reader(self, table: TableSchema) -> _Reader | None:
        """A function turning one driver row (all columns) into Python values
        (None when every column comes back as it is)."""
        if table.name in self._readers:
            return self._readers[table.name]
        pairs = [
            (index, convert)
            for index, column in enumerate(table.columns)
            if (convert := self.dialect.from_driver(column.type)) is not None
        ]

        def read(row: Sequence[Any]) -> tuple[Any, ...]:
            values = list(row)
            for index, convert in pairs:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            return tuple(values)

        reader = read if pairs else None
        self._readers[table.name] = reader
        return reader

    # --- schema ------------------------------------------------------------------------
    def _fetch_schema(self, name: str) -> TableSchema | None:
        schema_table = self.dialect.quote(self.dialect.schema_table)
        sql = f"SELECT definition FROM {schema_table} WHERE name = {self.dialect.placeholder(1)}"
        try:
            rows = self._in_transaction(lambda c: c.fetch(sql, (name,)))
        except QueryError:
            if self.read_only:
                return None
            raise
        if not rows:
            return None
        schema = self._parse(name, rows[0][0])
        with self._lock:
            self._schemas[name] = schema
        return schema

    def require_table(self, name: str) -> None:
        """Check that table ``name`` exists.

        Raises:
            TableNotFoundError: it does not (the memory engine's message).
        """
        if name in self._schemas or self._fetch_schema(name) is not None:
            return
        raise TableNotFoundError(
            f"table {name!r} does not exist; declare its model or create it first",
            table_name=name,
        )

    def ensure_table(self, schema: TableSchema) -> TableSchema:
        """Create the table, its indexes and its metadata row, or check the stored one.

        Raises:
            SchemaError: the stored table disagrees with ``schema`` (the difference named).
            ReadOnlyError: the table is missing and the engine is read-only.
        """
        with self._lock:
            stored = self._schemas.get(schema.name) or self._fetch_schema(schema.name)
            if stored is None:
                if self.read_only:
                    raise self.refusal("create", schema.name)
                stored = self._retrying(lambda: self._create(schema))
            problems = schema.differences(stored)
            if problems:
                raise SchemaError(
                    f"table {schema.name!r} disagrees with its model: " + "; ".join(problems),
                    table_name=schema.name,
                )
            self._schemas[schema.name] = stored
            return stored

    def _create(self, schema: TableSchema) -> TableSchema:
        schema_table = self.dialect.quote(self.dialect.schema_table)
        mark = self.dialect.placeholder

        def create(connection: Connection) -> TableSchema:
            found = connection.fetch(
                f"SELECT definition FROM {schema_table} WHERE name = {mark(1)}", (schema.name,)
            )
            if found:  # another process created it meanwhile
                return self._parse(schema.name, found[0][0])
            for statement in self.dialect.create_table_sql(schema):
                connection.run(statement)
            connection.run(
                f"INSERT INTO {schema_table} (name, definition) VALUES ({mark(1)}, {mark(2)})",
                (schema.name, orjson.dumps(schema.to_dict()).decode()),
            )
            return schema

        try:
            created: TableSchema = self._in_transaction(create)
        except QueryError as exc:
            raise SchemaError(
                f"table {schema.name!r} cannot be created in {self.display_location}: "
                f"{exc.message}. A table of that name that pytuck did not create may exist; "
                "drop or rename it",
                table_name=schema.name,
            ) from exc
        return created

    def table_schema(self, name: str) -> TableSchema | None:
        """The stored schema of table ``name``, or None."""
        return self._schemas.get(name) or self._fetch_schema(name)

    def table_names(self) -> list[str]:
        """Names of the tables pytuck created in this database."""
        schema_table = self.dialect.quote(self.dialect.schema_table)
        try:
            rows = self._in_transaction(lambda c: c.fetch(f"SELECT name FROM {schema_table}"))
        except QueryError:
            if self.read_only:
                return []
            raise
        return sorted(row[0] for row in rows)

    def drop_table(self, name: str) -> None:
        """Drop table ``name`` and its metadata row (no error if it is absent).

        Raises:
            ReadOnlyError: the engine is read-only.
        """
        if self.read_only:
            raise self.refusal("drop", name)
        schema_table = self.dialect.quote(self.dialect.schema_table)
        mark = self.dialect.placeholder

        def drop(connection: Connection) -> None:
            for statement in self.dialect.drop_table_sql(name):
                connection.run(statement)
            connection.run(f"DELETE FROM {schema_table} WHERE name = {mark(1)}", (name,))

        with self._lock:
            self._retrying(lambda: self._in_transaction(drop))
            self._forget(name)

    def _forget(self, name: str) -> None:
        self.dialect.table_dropped(name)
        self._schemas.pop(name, None)
        self._getters.pop(name, None)
        self._readers.pop(name, None)
        self._writers.pop(name, None)
        self._column_adapters.pop(name, None)

    # --- transactions and raw SQL ----------------------------------------------------
    def begin(self) -> SqlTransaction:
        """Start a transaction on a connection of its own from the pool."""
        connection = self._acquire()
        try:
            connection.begin()
        except self.dialect.driver_errors as exc:
            self.pool.release(connection, reusable=False)
            raise self.translate(exc) from exc
        return SqlTransaction(self, connection)

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run raw SQL in a transaction of its own (committed at once).

        Parameters of the contract types are adapted as column values are
        (Decimal, UUID, datetime, ... as this engine stores them); rows come
        back as the driver returns them, readable by index and by name.

        Raises:
            QueryError: the database refused the statement.
            ReadOnlyError: the statement writes and the database is read-only.
        """
        values = [self._raw_parameter(value) for value in (params or ())]
        names, rows = self._in_transaction(lambda c: c.query(sql, values))
        with self._lock:
            # Raw SQL may have dropped or changed tables: read schemas afresh.
            self._schemas.clear()
            self._getters.clear()
            self._readers.clear()
            self._writers.clear()
            self._column_adapters.clear()
        if not names:
            return []
        make = row_class([str(name) for name in names])
        return [make(row) for row in rows]

    def _raw_parameter(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str, bytes)):
            return value
        for tp in SUPPORTED_TYPES:
            if isinstance(value, tp):
                adapt = self.dialect.to_driver(tp)
                return value if adapt is None else adapt(value)
        return value

    def close(self) -> None:
        """Close the pool's connections. Further use raises TransactionError."""
        self.closed = True
        self.pool.close()


#: How often a schema change that lost a race with another process is retried.
_SCHEMA_RETRIES = 20
#: How many values of a failed multi-row write are probed to name the duplicate.
_DUPLICATE_PROBES = 1000


def _resolve_column(table: TableSchema | None, printed: str | None) -> str | None:
    """The stored column a driver message names (``email`` or ``users.email``)."""
    if table is None or not printed:
        return None
    if table.has_column(printed):
        return printed
    prefix = f"{table.name}."
    if printed.startswith(prefix) and table.has_column(printed[len(prefix):]):
        return printed[len(prefix):]
    for name in table.column_names:
        if printed.endswith(f".{name}"):
            return name
    return None


def duplicate_error(table: str, column: str, value: Any, is_key: bool) -> DuplicateKeyError:
    """The DuplicateKeyError of the memory engine, word for word."""
    return DuplicateKeyError(
        f"{table}.{column}: the value {value!r} is already taken "
        f"({'primary key' if is_key else 'unique'}); use another value, or update the existing row",
        table_name=table,
        column_name=column,
        pk=value if is_key else None,
        details={"value": value},
    )
