"""Stage 2's unit of work: apply a batch of session updates to PostgreSQL, effectively once.

One transaction holds everything a batch does: the session rows, their conversations, snapshot
history, the alert log, the outbox of records to publish, and the Kafka positions the batch
covers. The positions' rows are locked first (``FOR UPDATE``), which fences two workers that
briefly both think they own a partition during a rebalance: the second waits, then sees the
first one's position and skips what it already applied. An update below the stored position is
a replay and is skipped, so a crash, a rebalance or a redelivery never applies anything twice.
The tables' SQL is ``processor/worker/session_tables.py``, the outbox's
``processor/worker/outbox.py``, the alert log's ``processor/worker/alert_log.py``.

A record of the internal topic holds an ordered batch of updates (``schemas/updates.py``), so a
position is ``(next_offset, next_index)``: the next update to apply is update ``next_index`` of
the record at ``next_offset`` (migration 0006). A batch split by the failure isolation, or one
update dead-lettered alone, moves the position inside a record, and a replay resumes there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from processor.core.lifecycle import Decision, LifecyclePolicy, SnapshotRow, decide
from processor.core.removal import Removal
from processor.core.writeback import writeback_for
from processor.db import Conn
from processor.worker.alert_log import record_alerts
from processor.worker.outbox import OutboxRecord, enqueue
from processor.worker.removal import DenyCheck, deny_check, remove_sessions
from processor.worker.session_tables import load_sessions, save_changes
from schemas.alerts import Alert
from schemas.commands import ApplySnapshot, ObserveConversation, SessionUpdate
from schemas.session import ConversationRecord, SessionState

__all__ = [
    "ADVANCE_POSITION",
    "BatchItem",
    "BatchOutcome",
    "DeadItem",
    "SessionStore",
]


@dataclass(frozen=True)
class BatchItem:
    """One record of the internal topic: where it came from and the update it carries."""

    topic: str
    partition: int
    offset: int
    update: SessionUpdate
    key: bytes | None = None  # the raw record, for the dead-letter topic
    value: bytes = b""  # this update's own JSON when known (else re-encoded for a dead letter)
    index: int = 0  # place in the record's batch of updates
    count: int = 1  # updates in the record

    @property
    def position(self) -> tuple[int, int]:
        return (self.offset, self.index)

    @property
    def after(self) -> tuple[int, int]:
        """The stored position once this update is applied or skipped."""
        last = self.index + 1 >= self.count
        return (self.offset + 1, 0) if last else (self.offset, self.index + 1)


@dataclass(frozen=True)
class DeadItem:
    item: BatchItem
    reason: str
    detail: str


@dataclass
class BatchOutcome:
    applied: int = 0
    replayed: int = 0
    changed_sessions: int = 0
    outbox: list[OutboxRecord] = field(default_factory=list)
    dead: list[DeadItem] = field(default_factory=list)


# Moves a position forward only ((offset, index) compared as a pair); the row exists (locked by
# the batch, or inserted by a skip).
ADVANCE_POSITION = """
    INSERT INTO consumer_positions (consumer, topic, partition, next_offset, next_index, updated_at)
    VALUES ($1, $2, $3, $4, $5, clock_timestamp())
    ON CONFLICT (consumer, topic, partition) DO UPDATE
    SET next_offset = EXCLUDED.next_offset, next_index = EXCLUDED.next_index,
        updated_at = EXCLUDED.updated_at
    WHERE (consumer_positions.next_offset, consumer_positions.next_index)
          < (EXCLUDED.next_offset, EXCLUDED.next_index)"""


# What a batch must know before deciding, in one statement: (kind, key, at) rows, where kind
# is 'snapshot' (a content id already stored), an erased_ids kind ('session' or 'customer':
# key the digest, at when erased) or 'issued' (a session id chatstate issued).
_ERASED_KINDS = ("session", "customer")
_LOOK_UP = """
    SELECT 'snapshot' AS kind, source_id AS key, NULL::timestamptz AS at
    FROM snapshots WHERE source_id = ANY($1::text[])
    UNION ALL
    SELECT kind, digest, erased_at FROM erased_ids WHERE digest = ANY($2::text[])"""
_LOOK_UP_ISSUED = (
    _LOOK_UP
    + """
    UNION ALL
    SELECT 'issued', persistent_session_id::text, NULL FROM issued_sessions
    WHERE persistent_session_id = ANY($3::uuid[])"""
)
_LOCK_POSITIONS = """
    SELECT topic, partition, next_offset, next_index FROM consumer_positions
    WHERE consumer = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
    ORDER BY topic, partition FOR UPDATE"""


class SessionStore:
    """asyncpg adapter for the lifecycle: load sessions, save what ``decide`` decided."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        consumer: str,
        policy: LifecyclePolicy,
        sessions_topic: str,
        alerts_topic: str,
        max_record_bytes: int | None = None,
        agent_context_topic: str | None = None,
    ) -> None:
        self.pool = pool
        self.consumer = consumer
        self.policy = policy
        self.sessions_topic = sessions_topic
        self.alerts_topic = alerts_topic
        self.max_record_bytes = max_record_bytes
        # Where the bridge reads what to show the agent (None: no write-back, e.g. in tests).
        self.agent_context_topic = agent_context_topic

    async def apply(self, items: Sequence[BatchItem]) -> BatchOutcome:
        out = BatchOutcome()
        if not items:
            return out
        async with self.pool.acquire() as conn, conn.transaction():
            positions = await self._lock_positions(conn, items)
            fresh = [i for i in items if i.position >= positions[(i.topic, i.partition)]]
            out.replayed = len(items) - len(fresh)
            if fresh:
                await self._apply_fresh(conn, fresh, out)
            await self._save_positions(conn, items)
        return out

    # -- positions -----------------------------------------------------------------------------

    async def _lock_positions(
        self, conn: Conn, items: Sequence[BatchItem]
    ) -> dict[tuple[str, int], tuple[int, int]]:
        """Lock the batch's position rows (in key order) and read them. The rows exist after a
        partition's first batch, so the INSERT that creates them is sent only when one is
        missing: one statement per batch instead of two."""
        tps = sorted({(i.topic, i.partition) for i in items})
        topics, parts = [t for t, _ in tps], [p for _, p in tps]
        rows = await conn.fetch(_LOCK_POSITIONS, self.consumer, topics, parts)
        if len(rows) < len(tps):
            await conn.execute(
                """INSERT INTO consumer_positions (consumer, topic, partition, next_offset,
                                                  updated_at)
                   SELECT $1, t, p, 0, clock_timestamp()
                   FROM unnest($2::text[], $3::int[]) AS x(t, p)
                   ON CONFLICT DO NOTHING""",
                self.consumer,
                topics,
                parts,
            )
            rows = await conn.fetch(_LOCK_POSITIONS, self.consumer, topics, parts)
        return {(r["topic"], r["partition"]): (r["next_offset"], r["next_index"]) for r in rows}

    async def _save_positions(self, conn: Conn, items: Sequence[BatchItem]) -> None:
        top: dict[tuple[str, int], tuple[int, int]] = {}
        for i in items:
            key = (i.topic, i.partition)
            top[key] = max(top.get(key, (-1, 0)), i.after)
        await conn.executemany(
            ADVANCE_POSITION,
            [(self.consumer, t, p, o, x) for (t, p), (o, x) in top.items()],
        )

    # -- the batch -----------------------------------------------------------------------------

    async def _look_up(
        self, conn: Conn, content_ids: list[str], check: DenyCheck, psids: list[uuid.UUID]
    ) -> tuple[set[str], set[uuid.UUID], set[uuid.UUID]]:
        """Snapshots already stored, sessions refused by the deny list, and the ids that count
        as issued (under ``require_issued`` those chatstate issued, else all): one statement,
        not one per question."""
        rows = await conn.fetch(
            _LOOK_UP_ISSUED if self.policy.require_issued else _LOOK_UP,
            content_ids,
            check.digests,
            *([psids] if self.policy.require_issued else []),
        )
        known = {r["key"] for r in rows if r["kind"] == "snapshot"}
        issued = (
            {uuid.UUID(r["key"]) for r in rows if r["kind"] == "issued"}
            if self.policy.require_issued
            else set(psids)
        )
        erased = check.denied(
            (r["key"], r["kind"], r["at"]) for r in rows if r["kind"] in _ERASED_KINDS
        )
        return known, erased, issued

    async def _apply_fresh(self, conn: Conn, items: Sequence[BatchItem], out: BatchOutcome) -> None:
        psids = list({i.update.persistent_session_id for i in items})
        sessions = await load_sessions(conn, psids, lock=True)
        content_ids = [
            i.update.command.content_id
            for i in items
            if isinstance(i.update.command, ApplySnapshot)
        ]
        check = deny_check([i.update for i in items])  # the deny list
        known, erased, issued = await self._look_up(conn, content_ids, check, psids)
        removals: list[Removal] = []  # erasure, purge
        changed: dict[uuid.UUID, SessionState] = {}
        conversations: dict[uuid.UUID, tuple[uuid.UUID, ConversationRecord]] = {}
        snapshots: list[SnapshotRow] = []
        alerts: list[Alert] = []
        writebacks: list[tuple[str, bytes | None, bytes | None]] = []
        policy = self.policy
        for item in items:
            u = item.update
            psid = u.persistent_session_id
            before = sessions.get(psid)
            try:
                d: Decision = decide(
                    before,
                    u,
                    policy,
                    issued=psid in issued,  # every id, without require_issued (_look_up)
                    known_snapshots=known,
                    erased=bool(erased) and psid in erased,
                )
            except Exception as exc:
                out.dead.append(DeadItem(item, "lifecycle_error", type(exc).__name__))
                continue
            out.applied += 1
            if d.alerts:
                alerts.extend(d.alerts)
            if d.removal is not None:
                removals.append(d.removal)
            if d.session is None or not d.changed:
                continue
            sessions[psid] = d.session
            changed[psid] = d.session
            if (
                self.agent_context_topic is not None
                and isinstance(u.command, ObserveConversation)
                and (wb := writeback_for(before, d.session, u.command.observation))
            ):
                writebacks.append((self.agent_context_topic, *wb.record()))
            for rec in d.conversations:
                conversations[rec.conversation_id] = (psid, rec)
            if d.snapshot is not None:
                snapshots.append(d.snapshot)
                known.add(d.snapshot.source_id)

        out.changed_sessions = len(changed)
        await save_changes(conn, list(changed.values()), list(conversations.values()), snapshots)
        removed = await remove_sessions(conn, removals, self.sessions_topic)
        new_alerts = await record_alerts(conn, removed.keep_alerts(alerts))
        out.outbox = await enqueue(
            conn,
            [
                (
                    self.sessions_topic,
                    str(s.persistent_session_id).encode(),
                    s.published().to_json_bytes(),
                )
                for s in changed.values()
                if s.persistent_session_id not in removed.ids
            ]
            + [(self.alerts_topic, a.subject.encode(), a.to_json_bytes()) for a in new_alerts]
            + removed.tombstones
            + writebacks,
            self.max_record_bytes,
        )
