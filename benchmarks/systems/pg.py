"""PostgreSQL housekeeping for the systems that run on a server: a schema per system.

Every system that uses the server keeps its tables in a schema of its own,
named here and dropped (``CASCADE``) when the system closes, so runs never
see each other's tables and leave nothing behind. Uses asyncpg (not timed).
"""

from __future__ import annotations

import asyncio
import secrets

__all__ = ["drop_schema", "mask_dsn", "schema_name"]


def schema_name(system: str) -> str:
    """A fresh schema name for ``system``: ``bench_<system>_<random hex>``."""
    clean = "".join(ch if ch.isalnum() else "_" for ch in system.lower())
    return f"bench_{clean}_{secrets.token_hex(4)}"


def drop_schema(dsn: str, schema: str) -> None:
    """``DROP SCHEMA IF EXISTS "<schema>" CASCADE`` on the server at ``dsn``."""
    import asyncpg

    async def drop() -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()

    asyncio.run(drop())


def mask_dsn(dsn: str) -> str:
    """``dsn`` with its password, if any, replaced by ``***``."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or "@" not in rest:
        return dsn
    credentials, host = rest.rsplit("@", 1)
    if ":" not in credentials:
        return dsn
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
