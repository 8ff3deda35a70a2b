"""The SQL the API runs, behind a small port.

Reads for ``/context`` and the one direct write: issuing a session. Issuing is race-safe because
the partial unique index ``issued_sessions_one_current`` admits one current session per customer:
two tabs insert at once, one wins, the other's ``ON CONFLICT DO NOTHING`` waits for the winner to
commit and then re-reads the winner's row. Superseding a session that can no longer be resumed
locks the current row first, so two tabs cannot both replace it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from schemas.session import SessionStatus

__all__ = ["ConversationView", "IssueResult", "PgSessionStore", "SessionStore", "SessionView"]

_MAX_ATTEMPTS = 5  # each retry means another transaction won a race and committed: converges


@dataclass(frozen=True)
class IssueResult:
    persistent_session_id: uuid.UUID
    status: SessionStatus
    created: bool
    previous_session_id: uuid.UUID | None
    issued_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class ConversationView:
    conversation_id: uuid.UUID
    state: str
    media_type: str | None
    started_at: datetime | None
    ended_at: datetime | None
    disconnect_type: str | None
    resumed_from_conversation_id: uuid.UUID | None
    first_seen_at: datetime


@dataclass(frozen=True)
class SessionView:
    persistent_session_id: uuid.UUID
    status: SessionStatus
    previous_session_id: uuid.UUID | None
    current_conversation_id: uuid.UUID | None
    latest_snapshot: dict[str, Any] | None
    latest_snapshot_at: datetime | None
    last_interaction_at: datetime | None
    expires_at: datetime | None
    conversations: list[ConversationView] = field(default_factory=list)


class SessionStore(Protocol):
    async def issue(self, customer_id_hashed: str, now: datetime, ttl: timedelta) -> IssueResult:
        """The customer's live session, or a new one (pointing to the one it replaces)."""
        ...

    async def session_for(self, psid: uuid.UUID, customer_id_hashed: str) -> SessionView | None:
        """The session if it exists AND belongs to this customer; else None (no difference)."""
        ...

    async def ping(self) -> bool: ...


def resumable(status: str | None, expires_at: datetime | None, now: datetime) -> bool:
    """Still the customer's live session? A missing ``sessions`` row (should not happen: both are
    written together) counts as resumable: it was issued and nothing says it ended."""
    if status is not None and not SessionStatus(status).resumable:
        return False
    return expires_at is None or expires_at > now


_CURRENT = """
SELECT i.persistent_session_id, i.previous_session_id, i.issued_at, s.status, s.expires_at
FROM issued_sessions i LEFT JOIN sessions s USING (persistent_session_id)
WHERE i.customer_id_hashed = $1 AND i.superseded_at IS NULL
FOR UPDATE OF i
"""
_SUPERSEDE = """
UPDATE issued_sessions SET superseded_at = $2
WHERE persistent_session_id = $1 AND superseded_at IS NULL
"""
_INSERT_ISSUED = """
INSERT INTO issued_sessions (persistent_session_id, customer_id_hashed, previous_session_id,
                             issued_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (customer_id_hashed) WHERE superseded_at IS NULL DO NOTHING
RETURNING persistent_session_id
"""
_INSERT_SESSION = """
INSERT INTO sessions (persistent_session_id, status, version, customer_id_hashed,
                      previous_session_id, last_interaction_at, expires_at, created_at, updated_at)
VALUES ($1, 'idle', 0, $2, $3, $4, $5, $4, $4)
"""
# One round trip: the conversations ride along as an array of anonymous records, which asyncpg
# decodes into typed tuples (uuid, timestamptz, ...) in the column order below.
_SESSION = """
SELECT s.persistent_session_id, s.status, s.previous_session_id, s.current_conversation_id,
       s.latest_snapshot, s.latest_snapshot_at, s.last_interaction_at, s.expires_at,
       ARRAY(SELECT ROW(c.conversation_id, c.state, c.media_type, c.started_at, c.ended_at,
                        c.disconnect_type, c.resumed_from_conversation_id, c.first_seen_at)
             FROM session_conversations c
             WHERE c.persistent_session_id = s.persistent_session_id
             ORDER BY c.first_seen_at, c.conversation_id) AS conversations
FROM sessions s
WHERE s.persistent_session_id = $1
  AND (s.customer_id_hashed = $2
       OR EXISTS (SELECT 1 FROM issued_sessions i
                  WHERE i.persistent_session_id = s.persistent_session_id
                    AND i.customer_id_hashed = $2))
"""


class PgSessionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # First come, first served for the pool's connections. asyncpg's pool hands a released
        # connection to whichever request asks next, and a woken waiter that lost the race
        # queues again at the back: with 10 connections and 25 requests in flight, context p99
        # was 155-172 ms against a 17 ms median. asyncio.Semaphore is FIFO (no barging); in
        # front of the pool it brings that p99 to 27 ms (benchmarks/api_bench.py).
        self._turns = asyncio.Semaphore(pool.get_max_size())

    async def issue(self, customer_id_hashed: str, now: datetime, ttl: timedelta) -> IssueResult:
        async with self._turns, self._pool.acquire() as conn:
            for _ in range(_MAX_ATTEMPTS):
                async with conn.transaction():
                    result = await self._issue_once(conn, customer_id_hashed, now, ttl)
                if result is not None:
                    return result
        raise RuntimeError("could not settle the customer's current session")  # pragma: no cover

    async def _issue_once(
        self, conn: asyncpg.Connection | PoolConnectionProxy, customer: str, now: datetime,
        ttl: timedelta,
    ) -> IssueResult | None:
        current = await conn.fetchrow(_CURRENT, customer)
        previous: uuid.UUID | None = None
        if current is not None:
            if resumable(current["status"], current["expires_at"], now):
                return IssueResult(
                    current["persistent_session_id"],
                    SessionStatus(current["status"] or SessionStatus.IDLE),
                    False, current["previous_session_id"], current["issued_at"],
                    current["expires_at"],
                )
            previous = current["persistent_session_id"]
            await conn.execute(_SUPERSEDE, previous, now)
        psid = uuid.uuid4()
        won = await conn.fetchval(_INSERT_ISSUED, psid, customer, previous, now)
        if won is None:
            return None  # another tab's transaction committed first: re-read its session
        expires_at = now + ttl
        await conn.execute(_INSERT_SESSION, psid, customer, previous, now, expires_at)
        return IssueResult(psid, SessionStatus.IDLE, True, previous, now, expires_at)

    async def session_for(self, psid: uuid.UUID, customer_id_hashed: str) -> SessionView | None:
        async with self._turns:
            row = await self._pool.fetchrow(_SESSION, psid, customer_id_hashed)
        if row is None:
            return None
        return SessionView(
            persistent_session_id=row["persistent_session_id"],
            status=SessionStatus(row["status"]),
            previous_session_id=row["previous_session_id"],
            current_conversation_id=row["current_conversation_id"],
            latest_snapshot=row["latest_snapshot"],
            latest_snapshot_at=row["latest_snapshot_at"],
            last_interaction_at=row["last_interaction_at"],
            expires_at=row["expires_at"],
            conversations=[ConversationView(*c) for c in row["conversations"]],
        )

    async def ping(self) -> bool:
        try:
            async with self._pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("SELECT 1", timeout=2) == 1)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
