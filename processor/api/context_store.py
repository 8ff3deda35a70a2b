"""The SQL the API runs, behind a small port: :class:`ContextStore`, on PostgreSQL
:class:`PgContextStore`.

Not the worker's session rows: this store answers a session's resumption context, issues
sessions and starts erasures; the worker writes sessions through its own storage port.

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

from processor.core.resumption import carries_predecessor
from processor.core.session_rows import VIEW_COLUMNS, column_list
from processor.erasure_requests import Erasure, ErasureStarted, erasure, start_erasure
from schemas.session import PUBLISHED_CONVERSATIONS_MAX, SessionStatus

__all__ = [
    "ContextStore",
    "ConversationView",
    "IssueResult",
    "PgContextStore",
    "PredecessorView",
    "SessionView",
]

_MAX_ATTEMPTS = 5  # each retry means another transaction won a race and committed: converges


@dataclass(frozen=True)
class PredecessorView:
    """What a renewal carries of the session it continues (``processor.core.resumption``)."""

    persistent_session_id: uuid.UUID
    last_conversation_id: uuid.UUID | None
    latest_snapshot: dict[str, Any] | None
    latest_snapshot_at: datetime | None


@dataclass(frozen=True)
class IssueResult:
    persistent_session_id: uuid.UUID
    status: SessionStatus
    created: bool
    previous_session_id: uuid.UUID | None
    issued_at: datetime
    expires_at: datetime | None
    version: int = 0  # 0: the worker has not applied it yet (not yet on chat.sessions)
    predecessor: PredecessorView | None = None


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
    conversations: list[ConversationView] = field(default_factory=list)  # the latest 50
    conversation_count: int = 0
    live_conversation_ids: list[uuid.UUID] = field(default_factory=list)
    predecessor: PredecessorView | None = None  # only while carried (no own snapshot yet)


class ContextStore(Protocol):
    async def issue(self, customer_id_hashed: str, now: datetime, ttl: timedelta) -> IssueResult:
        """The customer's live session, or a new one (pointing to the one it replaces)."""
        ...

    async def session_for(self, psid: uuid.UUID, customer_id_hashed: str) -> SessionView | None:
        """The session if it exists AND belongs to this customer; else None (no difference)."""
        ...

    async def latest_for(self, customer_id_hashed: str) -> SessionView | None:
        """The customer's most recently created session, whatever its status."""
        ...

    async def start_erasure(
        self, customer_id_hashed: str, requested_by: str, now: datetime
    ) -> ErasureStarted:
        """Record an erasure request (``processor.erasure_requests``)."""
        ...

    async def erasure(self, erasure_id: uuid.UUID) -> Erasure | None: ...

    async def ping(self) -> bool: ...


def resumable(status: str | None, expires_at: datetime | None, now: datetime) -> bool:
    """Still the customer's live session? A missing ``sessions`` row (should not happen: both are
    written together) counts as resumable: it was issued and nothing says it ended."""
    if status is not None and not SessionStatus(status).resumable:
        return False
    return expires_at is None or expires_at > now


_CURRENT = """
SELECT i.persistent_session_id, i.previous_session_id, i.issued_at, s.status, s.expires_at,
       s.version, s.latest_snapshot_at
FROM issued_sessions i LEFT JOIN sessions s USING (persistent_session_id)
WHERE i.customer_id_hashed = $1 AND i.superseded_at IS NULL
FOR UPDATE OF i
"""
_LAPSED_FIRST_SIGHT = """
SELECT persistent_session_id FROM (
    SELECT persistent_session_id, status, expires_at FROM sessions
    WHERE customer_id_hashed = $1 ORDER BY created_at DESC, persistent_session_id LIMIT 1) latest
WHERE status IN ('expired', 'archived')
   OR (status IN ('active', 'idle') AND expires_at <= $2)
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
# The conversation a renewal's new conversation is tagged with: the current one, else the last.
_LAST_CONVERSATION = """coalesce({t}.current_conversation_id,
         (SELECT c.conversation_id FROM session_conversations c
          WHERE c.persistent_session_id = {t}.persistent_session_id
          ORDER BY c.first_seen_at DESC, c.conversation_id DESC LIMIT 1))"""
_PREDECESSOR = f"""
SELECT p.persistent_session_id, {_LAST_CONVERSATION.format(t="p")} AS conversation_id,
       p.latest_snapshot, p.latest_snapshot_at
FROM sessions p WHERE p.persistent_session_id = $1
"""
# One round trip: the latest conversations ride along as an array of anonymous records, which
# asyncpg decodes into typed tuples (uuid, timestamptz, ...) in the column order below; the
# predecessor is joined only while the session carries it (no snapshot of its own yet). The
# session's own columns are the row shape's (``processor.core.session_rows.VIEW_COLUMNS``).
_SESSION_SELECT = f"""
SELECT {column_list(VIEW_COLUMNS, "s")},
       ARRAY(SELECT ROW(c.conversation_id, c.state, c.media_type, c.started_at, c.ended_at,
                        c.disconnect_type, c.resumed_from_conversation_id, c.first_seen_at)
             FROM (SELECT * FROM session_conversations c
                   WHERE c.persistent_session_id = s.persistent_session_id
                   ORDER BY c.first_seen_at DESC, c.conversation_id DESC
                   LIMIT {PUBLISHED_CONVERSATIONS_MAX}) c
             ORDER BY c.first_seen_at, c.conversation_id) AS conversations,
       (SELECT count(*) FROM session_conversations c
        WHERE c.persistent_session_id = s.persistent_session_id) AS conversation_count,
       ARRAY(SELECT c.conversation_id FROM session_conversations c
             WHERE c.persistent_session_id = s.persistent_session_id AND c.state = 'live'
             ORDER BY c.first_seen_at, c.conversation_id) AS live_conversation_ids,
       p.persistent_session_id AS p_id, {_LAST_CONVERSATION.format(t="p")} AS p_conversation,
       p.latest_snapshot AS p_snapshot, p.latest_snapshot_at AS p_snapshot_at
FROM sessions s
LEFT JOIN sessions p ON p.persistent_session_id = s.previous_session_id
                    AND s.latest_snapshot_at IS NULL
"""
_SESSION = _SESSION_SELECT + """
WHERE s.persistent_session_id = $1
  AND (s.customer_id_hashed = $2
       OR EXISTS (SELECT 1 FROM issued_sessions i
                  WHERE i.persistent_session_id = s.persistent_session_id
                    AND i.customer_id_hashed = $2))
"""
_LATEST_FOR = _SESSION_SELECT + """
WHERE s.persistent_session_id = (SELECT x.persistent_session_id FROM sessions x
                                 WHERE x.customer_id_hashed = $1
                                 ORDER BY x.created_at DESC, x.persistent_session_id LIMIT 1)
"""


def _view(row: asyncpg.Record) -> SessionView:
    predecessor = None
    if row["p_id"] is not None:
        predecessor = PredecessorView(
            row["p_id"], row["p_conversation"], row["p_snapshot"], row["p_snapshot_at"]
        )
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
        conversation_count=row["conversation_count"],
        live_conversation_ids=list(row["live_conversation_ids"]),
        predecessor=predecessor,
    )


async def _predecessor(
    conn: asyncpg.Connection | PoolConnectionProxy, psid: uuid.UUID
) -> PredecessorView | None:
    row = await conn.fetchrow(_PREDECESSOR, psid)
    if row is None:
        return None  # purged or erased since: nothing to carry
    return PredecessorView(
        row["persistent_session_id"], row["conversation_id"], row["latest_snapshot"],
        row["latest_snapshot_at"],
    )


class PgContextStore:
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
                carried = current["previous_session_id"]
                return IssueResult(
                    current["persistent_session_id"],
                    SessionStatus(current["status"] or SessionStatus.IDLE),
                    False, carried, current["issued_at"], current["expires_at"],
                    current["version"] or 0,
                    await _predecessor(conn, carried)
                    if carries_predecessor(carried, current["latest_snapshot_at"]) else None,
                )
            previous = current["persistent_session_id"]
            await conn.execute(_SUPERSEDE, previous, now)
        else:
            # No issued session: a session that started on first sight (ids from another back
            # end) and lapsed is what the new one continues, as GET /v1/customers/context says.
            previous = await conn.fetchval(_LAPSED_FIRST_SIGHT, customer, now)
        psid = uuid.uuid4()
        won = await conn.fetchval(_INSERT_ISSUED, psid, customer, previous, now)
        if won is None:
            return None  # another tab's transaction committed first: re-read its session
        expires_at = now + ttl
        await conn.execute(_INSERT_SESSION, psid, customer, previous, now, expires_at)
        return IssueResult(
            psid, SessionStatus.IDLE, True, previous, now, expires_at, 0,
            await _predecessor(conn, previous) if previous is not None else None,
        )

    async def session_for(self, psid: uuid.UUID, customer_id_hashed: str) -> SessionView | None:
        async with self._turns:
            row = await self._pool.fetchrow(_SESSION, psid, customer_id_hashed)
        return None if row is None else _view(row)

    async def latest_for(self, customer_id_hashed: str) -> SessionView | None:
        async with self._turns:
            row = await self._pool.fetchrow(_LATEST_FOR, customer_id_hashed)
        return None if row is None else _view(row)

    async def start_erasure(
        self, customer_id_hashed: str, requested_by: str, now: datetime
    ) -> ErasureStarted:
        async with self._turns, self._pool.acquire() as conn:
            return await start_erasure(conn, customer_id_hashed, requested_by, now)

    async def erasure(self, erasure_id: uuid.UUID) -> Erasure | None:
        async with self._turns:
            return await erasure(self._pool, erasure_id)

    async def ping(self) -> bool:
        try:
            async with self._pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("SELECT 1", timeout=2) == 1)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
