"""Options and outcome of reconciling a stored table with its model (Pytuck 1.x names).

Schema evolution itself (adding, dropping and retyping stored columns) is
planned, not built: see TODO.md. These records exist so Pytuck 1.x code that
imports them keeps importing; no pytuck function accepts them yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SyncOptions", "SyncResult"]


@dataclass(frozen=True)
class SyncOptions:
    """How a stored table should be brought in line with its model."""

    sync_table_comment: bool = True
    sync_column_comments: bool = True
    add_new_columns: bool = True
    drop_missing_columns: bool = False
    update_column_types: bool = False


@dataclass
class SyncResult:
    """What a schema sync changed."""

    table_name: str
    table_comment_updated: bool = False
    columns_added: list[str] = field(default_factory=list)
    columns_dropped: list[str] = field(default_factory=list)
    column_comments_updated: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """True when anything changed."""
        return bool(
            self.table_comment_updated
            or self.columns_added
            or self.columns_dropped
            or self.column_comments_updated
        )
