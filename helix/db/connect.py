"""asyncpg connections for the read side, errors translated."""

from __future__ import annotations

import asyncpg

from helix.errors import ServiceUnavailable


async def connect_pg(url: str) -> asyncpg.Connection:
    """Connect to PostgreSQL.

    Raises:
        ServiceUnavailable: the server cannot be reached.
    """
    try:
        return await asyncpg.connect(url, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ServiceUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
