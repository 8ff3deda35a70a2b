"""Gaps and the lease, in PostgreSQL.

The lease is a session-level advisory lock held by one connection for the bridge's life: only
the holder subscribes, forwards and backfills; another bridge started with the same name waits
as a standby and takes over within ``retry_s`` of the holder's connection closing (a crash, a
SIGKILL: PostgreSQL releases the lock with the connection). A holder whose connection breaks
has lost the lease and must stop.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from processor.db import connect

__all__ = ["Gap", "GapLog", "Lease"]


@dataclass(frozen=True)
class Gap:
    id: int
    started_at: datetime
    ended_at: datetime
    reason: str


def _lock_key(name: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"chatstate-bridge:{name}".encode()).digest()[:8], "big", signed=True
    )


class Lease:
    def __init__(self, database_url: str, name: str = "default", retry_s: float = 5.0) -> None:
        self._url, self.name, self._retry = database_url, name, retry_s
        self._conn: asyncpg.Connection | None = None
        self.held = False

    async def acquire(self) -> None:
        """Wait (as a standby) until this bridge holds the lease."""
        while True:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect(self._url)
                if await self._conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", _lock_key(self.name)
                ):
                    self.held = True
                    return
            except (OSError, asyncpg.PostgresError):
                self._conn = None
            await asyncio.sleep(self._retry)

    async def check(self) -> bool:
        """Still held: the connection that holds the lock answers."""
        if self._conn is None or self._conn.is_closed():
            self.held = False
            return False
        try:
            await asyncio.wait_for(self._conn.fetchval("SELECT 1"), 5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            self.held = False
        return self.held

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        self.held = False
        if conn is not None and not conn.is_closed():
            await conn.close()


class GapLog:
    def __init__(self, pool: asyncpg.Pool, name: str = "default") -> None:
        self._pool, self.name = pool, name

    async def last_alive(self) -> datetime | None:
        value = await self._pool.fetchval(
            "SELECT alive_at FROM bridge_state WHERE name = $1", self.name
        )
        return value if isinstance(value, datetime) else None

    async def alive(self, at: datetime) -> None:
        await self._pool.execute(
            "INSERT INTO bridge_state (name, alive_at) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET alive_at = excluded.alive_at",
            self.name,
            at,
        )

    async def record(self, started_at: datetime, ended_at: datetime, reason: str) -> int:
        value = await self._pool.fetchval(
            "INSERT INTO bridge_gaps (started_at, ended_at, reason) VALUES ($1, $2, $3) "
            "RETURNING id",
            started_at,
            max(started_at, ended_at),
            reason,
        )
        return int(value)

    async def owed(self) -> list[Gap]:
        rows = await self._pool.fetch(
            "SELECT id, started_at, ended_at, reason FROM bridge_gaps "
            "WHERE backfilled_at IS NULL ORDER BY started_at"
        )
        return [Gap(r["id"], r["started_at"], r["ended_at"], r["reason"]) for r in rows]

    async def done(self, gap_id: int, conversations: int) -> None:
        await self._pool.execute(
            "UPDATE bridge_gaps SET backfilled_at = now(), conversations = $2 WHERE id = $1",
            gap_id,
            conversations,
        )
