"""The one database pool factory."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

__all__ = ["Conn", "create_pool", "init_connection", "keep_session_state"]

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # A plain connection or one borrowed from the pool: the adapters accept either.
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Conn = asyncpg.Connection


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python objects, everywhere."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def keep_session_state(conn: asyncpg.Connection) -> None:
    """A pool ``reset`` that skips asyncpg's default reset query on every release.

    The default (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``) is a round trip
    per request. Only for pools whose users never change session state: no SET, LISTEN, advisory
    locks or open cursors (the API's pool: reads and one transaction per request).
    """


async def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 10, **kw: Any
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=init_connection, **kw
    )
    assert pool is not None
    return pool
