"""The worker's storage port (``processor/worker/storage.py``) on PostgreSQL, with asyncpg.

Stage 2's unit of work stays in ``processor/worker/unit_of_work.py`` (the session rows and
positions), parking in ``processor/worker/unmapped.py``; this module is the one object the
shell holds, and the home of the remaining queries that used to sit in the runtime, the scans
and the publisher."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from processor.core.route import Parked
from processor.worker.alert_log import record_alerts
from processor.worker.outbox import OutboxRecord, enqueue
from processor.worker.storage import OrphanRow, Releasable, UnmappedRow, WorkerStorage
from processor.worker.unit_of_work import (
    ADVANCE_POSITION,
    BatchItem,
    BatchOutcome,
    SessionStore,
)
from processor.worker.unmapped import ParkOutcome, expire_unmapped, park
from schemas.alerts import Alert

__all__ = ["PgStorage"]


class PgStorage:
    def __init__(self, sessions: SessionStore) -> None:
        """``sessions``: stage 2's unit of work, whose pool and topics this adapter shares."""
        self.sessions = sessions
        self.pool = sessions.pool
        self.consumer = sessions.consumer
        self.alerts_topic = sessions.alerts_topic

    # -- health ---------------------------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            await self.pool.expire_connections()  # the pool's may predate a restart
            async with self.pool.acquire(timeout=3) as conn:
                await conn.fetchval("SELECT 1", timeout=3)
        except Exception:
            return False
        return True

    async def reset(self) -> None:
        await self.pool.expire_connections()

    # -- stage 1 --------------------------------------------------------------------------------

    async def mappings(self, conversations: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        rows = await self.pool.fetch(
            "SELECT conversation_id, persistent_session_id FROM session_conversations "
            "WHERE conversation_id = ANY($1::uuid[])",
            list(conversations),
        )
        return {r["conversation_id"]: r["persistent_session_id"] for r in rows}

    async def parked(self, conversations: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Parked]]:
        rows = await self.pool.fetch(
            "SELECT conversation_id, observations FROM unmapped_conversations "
            "WHERE conversation_id = ANY($1::uuid[])",
            list(conversations),
        )
        return {
            r["conversation_id"]: [Parked.from_json(o) for o in r["observations"] or []]
            for r in rows
        }

    async def park(self, parked: Sequence[Parked], limit: int) -> ParkOutcome:
        return await park(self.pool, parked, limit)

    async def release(self, conversations: Sequence[uuid.UUID]) -> None:
        await self.pool.execute(
            "DELETE FROM unmapped_conversations WHERE conversation_id = ANY($1::uuid[])",
            list(conversations),
        )

    # -- stage 2 --------------------------------------------------------------------------------

    async def apply(self, items: Sequence[BatchItem]) -> BatchOutcome:
        return await self.sessions.apply(items)

    async def skip(self, topic: str, partition: int, after: tuple[int, int]) -> None:
        await self.pool.execute(ADVANCE_POSITION, self.consumer, topic, partition, *after)

    # -- alerts and the outbox ------------------------------------------------------------------

    async def record_alerts(
        self, alerts: Sequence[Alert], *, also_known: Sequence[Alert] = ()
    ) -> list[OutboxRecord]:
        told = {a.dedup_key for a in alerts}
        async with self.pool.acquire() as conn, conn.transaction():
            new = await record_alerts(conn, [*alerts, *also_known])  # the first of each key
            return await enqueue(
                conn,
                [
                    (self.alerts_topic, a.subject.encode(), a.to_json_bytes())
                    for a in new
                    if a.dedup_key in told
                ],
            )

    async def forget(self, records: Sequence[OutboxRecord]) -> None:
        await self.pool.execute(
            "DELETE FROM outbox WHERE outbox_id = ANY($1::bigint[])",
            [r.outbox_id for r in records],
        )

    async def left_behind(self, older_than_s: float, limit: int) -> list[OutboxRecord]:
        # No lock: two sweepers during a leader change may both send a row, which consumers
        # dedupe, as they do a re-send after a crash.
        rows = await self.pool.fetch(
            """SELECT outbox_id, topic, key, value, created_at FROM outbox
               WHERE created_at < clock_timestamp() - make_interval(secs => $1)
               ORDER BY outbox_id LIMIT $2""",
            older_than_s,
            limit,
        )
        return [
            OutboxRecord(
                r["outbox_id"],
                r["topic"],
                bytes(r["key"]) if r["key"] else None,
                bytes(r["value"]) if r["value"] is not None else None,
                r["created_at"],
            )
            for r in rows
        ]

    # -- the leader's scans ---------------------------------------------------------------------

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self.pool.fetch(
            "SELECT persistent_session_id FROM sessions WHERE status IN ('active', 'idle') "
            "AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
            now,
            limit,
        )
        return [r["persistent_session_id"] for r in rows]

    async def due_to_archive(self, idle_before: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self.pool.fetch(
            "SELECT persistent_session_id FROM sessions WHERE status IN ('idle', 'expired') "
            "AND coalesce(last_interaction_at, created_at) <= $1 LIMIT $2",
            idle_before,
            limit,
        )
        return [r["persistent_session_id"] for r in rows]

    async def orphans(self, first_seen_before: datetime, limit: int) -> list[OrphanRow]:
        rows = await self.pool.fetch(
            """SELECT c.conversation_id, c.persistent_session_id, c.first_seen_at
               FROM session_conversations c
               WHERE c.state = 'live' AND c.first_seen_at <= $1
                 AND NOT EXISTS (SELECT 1 FROM snapshots s
                                 WHERE s.persistent_session_id = c.persistent_session_id
                                   AND s.conversation_id = c.conversation_id)
                 AND NOT EXISTS (SELECT 1 FROM alert_log a
                                 WHERE a.dedup_key = 'orphaned_conversation:' || c.conversation_id)
               LIMIT $2""",
            first_seen_before,
            limit,
        )
        return [
            OrphanRow(r["conversation_id"], r["persistent_session_id"], r["first_seen_at"])
            for r in rows
        ]

    async def unmapped(self, first_seen_before: datetime, limit: int) -> list[UnmappedRow]:
        rows = await self.pool.fetch(
            """SELECT u.conversation_id, u.first_seen_at, jsonb_array_length(u.observations) AS n,
                      u.dropped
               FROM unmapped_conversations u
               WHERE u.first_seen_at <= $1
                 AND NOT EXISTS (SELECT 1 FROM session_conversations c
                                 WHERE c.conversation_id = u.conversation_id)
                 AND NOT EXISTS (SELECT 1 FROM alert_log a
                                 WHERE a.dedup_key = 'unmapped_conversation:' || u.conversation_id)
               LIMIT $2""",
            first_seen_before,
            limit,
        )
        return [
            UnmappedRow(r["conversation_id"], r["first_seen_at"], r["n"], r["dropped"])
            for r in rows
        ]

    async def releasable(self, limit: int) -> list[Releasable]:
        rows = await self.pool.fetch(
            """SELECT u.conversation_id, c.persistent_session_id, u.observations, u.last_seen_at
               FROM unmapped_conversations u JOIN session_conversations c USING (conversation_id)
               LIMIT $1""",
            limit,
        )
        return [
            Releasable(
                r["conversation_id"],
                r["persistent_session_id"],
                [Parked.from_json(o) for o in r["observations"]],
                r["last_seen_at"],
            )
            for r in rows
        ]

    async def released(self, conversation_id: uuid.UUID, last_seen_at: datetime) -> None:
        await self.pool.execute(
            "DELETE FROM unmapped_conversations WHERE conversation_id = $1 AND last_seen_at = $2",
            conversation_id,
            last_seen_at,
        )

    async def expire_unmapped(self, first_seen_before: datetime, limit: int) -> int:
        return await expire_unmapped(self.pool, first_seen_before, limit)


if TYPE_CHECKING:
    _PORT: type[WorkerStorage] = PgStorage  # mypy checks the adapter keeps the port
