"""The one exception hierarchy of pytuck, rooted at :class:`PytuckError`.

Every error names what it is about (table, column, value, file) so the message
alone tells the user where to look. ``PytuckException`` is the Pytuck 1.x name
of the root and is the very same class.
"""

from __future__ import annotations

from typing import Any

__all__ = [
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
]


class PytuckError(Exception):
    """Root of every error pytuck raises.

    Args:
        message: the human-readable explanation, naming what is involved.
        table_name: the table concerned, when there is one.
        column_name: the column concerned, when there is one.
        pk: the primary key concerned, when there is one.
        details: any further structured information.
    """

    def __init__(
        self,
        message: str,
        *,
        table_name: str | None = None,
        column_name: str | None = None,
        pk: Any = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.table_name = table_name
        self.column_name = column_name
        self.pk = pk
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """Return the error as a plain dict (for logs and APIs)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "table_name": self.table_name,
            "column_name": self.column_name,
            "pk": self.pk,
            "details": dict(self.details),
        }


#: Pytuck 1.x name of the root exception; the same class.
PytuckException = PytuckError


class ConfigurationError(PytuckError):
    """Storage or engine configuration is wrong (unknown engine, bad option)."""


class SchemaError(ConfigurationError):
    """A model or table definition is invalid, or disagrees with stored data."""


class ValidationError(PytuckError):
    """A value does not fit its column (type, NULL, validator)."""


class TypeConversionError(ValidationError):
    """A value could not be converted to its column's type."""

    def __init__(
        self,
        message: str,
        *,
        value: Any = None,
        target_type: Any = None,
        table_name: str | None = None,
        column_name: str | None = None,
        pk: Any = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, table_name=table_name, column_name=column_name, pk=pk, details=details
        )
        self.value = value
        self.target_type = target_type


class QueryError(PytuckError):
    """A statement or query is malformed or misused."""


class NoResultFound(QueryError):
    """``one()`` found no row."""


class MultipleResultsFound(QueryError):
    """``one()`` or ``one_or_none()`` found more than one row."""


class TableNotFoundError(PytuckError):
    """The named table does not exist in the storage."""


class ColumnNotFoundError(QueryError):
    """The named column does not exist on the model or table."""


class RecordNotFoundError(PytuckError):
    """No row has the given primary key."""


class IntegrityError(PytuckError):
    """A constraint of the database was violated."""


class DuplicateKeyError(IntegrityError):
    """A primary key or unique column value is already taken."""


class TransactionError(PytuckError):
    """A transaction was used in a way its state does not allow."""


class ConflictError(TransactionError):
    """Another transaction committed a change to a row this one also changed.

    The transaction is rolled back; retry it from the start.
    """


class DetachedInstanceError(PytuckError):
    """An instance needs its session, but it has none (closed or expunged)."""


class DatabaseConnectionError(PytuckError):
    """The database server cannot be reached (the DSN is shown password-masked)."""


class SerializationError(PytuckError):
    """A value cannot be encoded or decoded for storage."""


class CorruptDatabaseError(SerializationError):
    """A file is not a pytuck database, or is damaged. The file is left untouched."""


class ReadOnlyError(PytuckError):
    """A write was attempted through a read-only storage."""


class EncryptionError(PytuckError):
    """Encryption or decryption failed."""


class MigrationError(PytuckError):
    """Moving data between engines failed."""


class PytuckIndexError(PytuckError):
    """An index is invalid for its column or cannot be maintained."""


class UnsupportedOperationError(PytuckError):
    """The engine cannot perform this operation (the docs list each case)."""
