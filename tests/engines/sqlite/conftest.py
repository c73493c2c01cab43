"""Registers the SQL engines for these tests (until pytuck.engines imports them itself)."""

import pytuck.engines.sql  # noqa: F401  (registers "sqlite", and duckdb/postgresql when present)
