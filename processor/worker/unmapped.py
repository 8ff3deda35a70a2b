"""The ``unmapped_conversations`` table: parking within its bounds, and expiry by age.

Parking takes a transaction-scoped advisory lock, so the workers' stage 1s park one at a time
and the count they read stays true until they commit: the bound holds across workers, not
only within one. Parking is rare in normal traffic (an event before its session is known), so
the lock costs nothing there; under a flood it serialises what would be refused anyway.
The exact ``count(*)`` is paid only by batches that park: ~30 ms at the default bound of
100,000 rows on the shared dev machine (a temp table, warm), under 1 ms at 2,000.
A counter row would be cheaper but every path that deletes rows would have to keep it right.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from processor.core.route import Parked
from processor.worker.parked import admit

__all__ = ["MAX_PARKED_PER_CONVERSATION", "ParkOutcome", "expire_unmapped", "park"]

MAX_PARKED_PER_CONVERSATION = 50  # the first ones kept, later ones counted in ``dropped``
_PARK_LOCK = 0x63687061726B  # "chpark": one parker at a time, across workers


@dataclass(frozen=True)
class ParkOutcome:
    admitted: frozenset[uuid.UUID]  # conversations whose observations are stored
    refused_conversations: int  # new conversations the full table did not take
    refused_observations: int
    used: int  # rows in the table after this parking


_UPSERT = """INSERT INTO unmapped_conversations
                 (conversation_id, first_seen_at, last_seen_at, observations)
             VALUES ($1, $2, $2, jsonb_build_array($3::jsonb))
             ON CONFLICT (conversation_id) DO UPDATE SET
               last_seen_at = EXCLUDED.last_seen_at,
               observations = CASE
                 WHEN jsonb_array_length(unmapped_conversations.observations) < $4
                 THEN unmapped_conversations.observations || EXCLUDED.observations
                 ELSE unmapped_conversations.observations END,
               dropped = unmapped_conversations.dropped + CASE
                 WHEN jsonb_array_length(unmapped_conversations.observations) < $4
                 THEN 0 ELSE 1 END"""


async def park(pool: asyncpg.Pool, parked: Sequence[Parked], limit: int) -> ParkOutcome:
    """Store parked observations in arrival order; conversations new to a table that holds
    ``limit`` rows are refused (see ``processor.worker.parked`` for why refuse, not evict)."""
    ids = list(dict.fromkeys(p.conversation_id for p in parked))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _PARK_LOCK)
        existing = await conn.fetch(
            "SELECT conversation_id FROM unmapped_conversations "
            "WHERE conversation_id = ANY($1::uuid[])",
            ids,
        )
        used = await conn.fetchval("SELECT count(*) FROM unmapped_conversations")
        admission = admit(ids, (r["conversation_id"] for r in existing), used, limit)
        kept = [p for p in parked if p.conversation_id in admission.admitted]
        if kept:
            await conn.executemany(
                _UPSERT,
                [
                    (p.conversation_id, p.received_at, p.to_dict(), MAX_PARKED_PER_CONVERSATION)
                    for p in kept
                ],
            )
    return ParkOutcome(
        admission.admitted,
        len(admission.refused),
        len(parked) - len(kept),
        used + len(admission.admitted) - len(existing),
    )


async def expire_unmapped(pool: asyncpg.Pool, first_seen_before: datetime, limit: int) -> int:
    """Forget conversations unmapped since before ``first_seen_before`` (oldest first, at most
    ``limit`` a round): their parked events, and their ``unmapped_conversation`` key in the
    alert log, so the log does not grow by one row per id of a flood either (the same id
    coming back much later is a new case and alerts again). Conversations a session has
    claimed meanwhile are left to the release scan."""
    return int(
        await pool.fetchval(
            """WITH gone AS (
                   DELETE FROM unmapped_conversations WHERE conversation_id IN (
                       SELECT u.conversation_id FROM unmapped_conversations u
                       WHERE u.first_seen_at < $1
                         AND NOT EXISTS (SELECT 1 FROM session_conversations c
                                         WHERE c.conversation_id = u.conversation_id)
                       ORDER BY u.first_seen_at LIMIT $2)
                   RETURNING conversation_id),
               forgotten AS (
                   DELETE FROM alert_log WHERE dedup_key IN
                       (SELECT 'unmapped_conversation:' || conversation_id FROM gone))
               SELECT count(*) FROM gone""",
            first_seen_before,
            limit,
        )
    )
