"""pytuck: an embedded document-store ORM with pluggable storage engines.

One model and query API over JSON and binary files, memory, SQLite, DuckDB and
PostgreSQL, with the same answers from every engine.
"""

from pytuck import events as event
from pytuck.crud import CRUDModel, declarative_base
from pytuck.errors import (
    ColumnNotFoundError,
    ConfigurationError,
    ConflictError,
    CorruptDatabaseError,
    DatabaseConnectionError,
    DetachedInstanceError,
    DuplicateKeyError,
    EncryptionError,
    IntegrityError,
    MigrationError,
    MultipleResultsFound,
    NoResultFound,
    PytuckError,
    PytuckException,
    PytuckIndexError,
    QueryError,
    ReadOnlyError,
    RecordNotFoundError,
    SchemaError,
    SerializationError,
    TableNotFoundError,
    TransactionError,
    TypeConversionError,
    UnsupportedOperationError,
    ValidationError,
)
from pytuck.model.base import Model
from pytuck.model.column import Column
from pytuck.model.relationship import Relationship
from pytuck.query.expressions import ColumnElement as BinaryExpression
from pytuck.query.expressions import and_, literal, not_, or_
from pytuck.query.functions import func
from pytuck.query.query import Query
from pytuck.query.result import CursorResult, Result, Row
from pytuck.query.statements import Select, delete, insert, select, update
from pytuck.schema_sync import SyncOptions, SyncResult
from pytuck.session import Session
from pytuck.storage import Storage

#: Pytuck 1.x names of the model bases.
PureBaseModel = Model
CRUDBaseModel = CRUDModel

__version__ = "2.0.0.dev0"

__all__ = [
    "Storage",
    "Session",
    "declarative_base",
    "Model",
    "CRUDModel",
    "PureBaseModel",
    "CRUDBaseModel",
    "Column",
    "Relationship",
    "select",
    "insert",
    "update",
    "delete",
    "or_",
    "and_",
    "not_",
    "literal",
    "func",
    "event",
    "Query",
    "Select",
    "Result",
    "CursorResult",
    "Row",
    "BinaryExpression",
    "SyncOptions",
    "SyncResult",
    "PytuckError",
    "PytuckException",
    "ConfigurationError",
    "SchemaError",
    "ValidationError",
    "TypeConversionError",
    "QueryError",
    "NoResultFound",
    "MultipleResultsFound",
    "TableNotFoundError",
    "ColumnNotFoundError",
    "RecordNotFoundError",
    "IntegrityError",
    "DuplicateKeyError",
    "TransactionError",
    "ConflictError",
    "DetachedInstanceError",
    "DatabaseConnectionError",
    "SerializationError",
    "CorruptDatabaseError",
    "ReadOnlyError",
    "EncryptionError",
    "MigrationError",
    "PytuckIndexError",
    "UnsupportedOperationError",
    "__version__",
]
