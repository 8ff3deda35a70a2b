"""An in-memory :class:`~processor.worker.storage.WorkerStorage`, for fast unit tests of the
worker's shells (stage 1 routing and parking, stage 2 positions and isolation, the scans'
decisions) without PostgreSQL.

It keeps the port's promises that the shells rely on: positions ``(offset, index)`` that only
move forward and make a replay a no-op, the lifecycle's ``decide`` applied in order with the
snapshot history, the alert log deduplicating by key, the outbox, parking within its bound.
It does not imitate what only PostgreSQL can show (constraints refusing a value, erasure's
row deletion, ``require_issued``): integration tests keep using the real database for those.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from processor.core.lifecycle import LifecyclePolicy, decide
from processor.core.route import Parked
from processor.worker.outbox import OutboxRecord
from processor.worker.parked import admit
from processor.worker.storage import OrphanRow, Releasable, UnmappedRow, WorkerStorage
from processor.worker.unit_of_work import BatchItem, BatchOutcome, DeadItem
from processor.worker.unmapped import MAX_PARKED_PER_CONVERSATION, ParkOutcome
from schemas.alerts import Alert
from schemas.session import SessionState, SessionStatus

__all__ = ["MemoryStorage"]


class MemoryStorage:
    def __init__(self, policy: LifecyclePolicy, *, sessions_topic: str, alerts_topic: str) -> None:
        self.policy = policy
        self.sessions_topic = sessions_topic
        self.alerts_topic = alerts_topic
        self.sessions: dict[uuid.UUID, SessionState] = {}
        self.conversations: dict[uuid.UUID, uuid.UUID] = {}  # conversation -> session
        self.snapshots: dict[uuid.UUID, set[str]] = {}  # session -> content ids
        self.positions: dict[tuple[str, int], tuple[int, int]] = {}
        self.unmapped_rows: dict[uuid.UUID, tuple[datetime, list[Parked]]] = {}
        self.alert_log: dict[str, Alert] = {}
        self.outbox: dict[int, OutboxRecord] = {}
        self.available = True  # False: every call fails as a database outage would
        self._ids = itertools.count(1)

    def _check(self) -> None:
        if not self.available:
            raise ConnectionRefusedError("memory storage is unavailable")

    # -- health ---------------------------------------------------------------------------------

    async def ping(self) -> bool:
        return self.available

    async def reset(self) -> None:
        return None

    # -- stage 1 --------------------------------------------------------------------------------

    async def mappings(self, conversations: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        self._check()
        return {c: self.conversations[c] for c in conversations if c in self.conversations}

    async def parked(self, conversations: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Parked]]:
        self._check()
        return {c: list(self.unmapped_rows[c][1]) for c in conversations if c in self.unmapped_rows}

    async def park(self, parked: Sequence[Parked], limit: int) -> ParkOutcome:
        self._check()
        ids = list(dict.fromkeys(p.conversation_id for p in parked))
        existing = [c for c in ids if c in self.unmapped_rows]
        used = len(self.unmapped_rows)
        admission = admit(ids, existing, used, limit)
        kept = [p for p in parked if p.conversation_id in admission.admitted]
        for p in kept:
            _, held = self.unmapped_rows.setdefault(p.conversation_id, (p.received_at, []))
            if len(held) < MAX_PARKED_PER_CONVERSATION:
                held.append(p)
        return ParkOutcome(
            admission.admitted,
            len(admission.refused),
            len(parked) - len(kept),
            used + len(admission.admitted) - len(existing),
        )

    async def release(self, conversations: Sequence[uuid.UUID]) -> None:
        self._check()
        for c in conversations:
            self.unmapped_rows.pop(c, None)

    # -- stage 2 --------------------------------------------------------------------------------

    async def apply(self, items: Sequence[BatchItem]) -> BatchOutcome:
        self._check()
        out = BatchOutcome()
        changed: dict[uuid.UUID, SessionState] = {}
        alerts: list[Alert] = []
        for item in items:
            tp = (item.topic, item.partition)
            if item.position < self.positions.get(tp, (0, 0)):
                out.replayed += 1
                continue
            self.positions[tp] = max(self.positions.get(tp, (0, 0)), item.after)
            u = item.update
            known = self.snapshots.setdefault(u.persistent_session_id, set())
            try:
                d = decide(
                    self.sessions.get(u.persistent_session_id),
                    u,
                    self.policy,
                    known_snapshots=known,
                )
            except Exception as exc:
                out.dead.append(DeadItem(item, "lifecycle_error", type(exc).__name__))
                continue
            out.applied += 1
            alerts.extend(d.alerts)
            if d.session is None or not d.changed:
                continue
            self.sessions[u.persistent_session_id] = changed[u.persistent_session_id] = d.session
            for rec in d.conversations:
                self.conversations.setdefault(rec.conversation_id, u.persistent_session_id)
            if d.snapshot is not None:
                known.add(d.snapshot.source_id)
        out.changed_sessions = len(changed)
        out.outbox = self._enqueue(
            [
                (
                    self.sessions_topic,
                    str(s.persistent_session_id).encode(),
                    s.published().to_json_bytes(),
                )
                for s in changed.values()
            ]
            + self._alert_records(self._record(alerts))
        )
        return out

    async def skip(self, topic: str, partition: int, after: tuple[int, int]) -> None:
        self._check()
        self.positions[(topic, partition)] = max(
            self.positions.get((topic, partition), (0, 0)), after
        )

    # -- alerts and the outbox ------------------------------------------------------------------

    def _record(self, alerts: Sequence[Alert]) -> list[Alert]:
        new: list[Alert] = []
        for a in alerts:
            if a.dedup_key not in self.alert_log:
                self.alert_log[a.dedup_key] = a
                new.append(a)
        return new

    def _alert_records(self, alerts: Sequence[Alert]) -> list[tuple[str, bytes | None, bytes]]:
        return [(self.alerts_topic, a.subject.encode(), a.to_json_bytes()) for a in alerts]

    def _enqueue(self, records: Sequence[tuple[str, bytes | None, bytes]]) -> list[OutboxRecord]:
        out = [OutboxRecord(next(self._ids), *r) for r in records]
        self.outbox.update((r.outbox_id, r) for r in out)
        return out

    async def record_alerts(
        self, alerts: Sequence[Alert], *, also_known: Sequence[Alert] = ()
    ) -> list[OutboxRecord]:
        self._check()
        told = {a.dedup_key for a in alerts}
        new = self._record([*alerts, *also_known])
        return self._enqueue(self._alert_records([a for a in new if a.dedup_key in told]))

    async def forget(self, records: Sequence[OutboxRecord]) -> None:
        self._check()
        for r in records:
            self.outbox.pop(r.outbox_id, None)

    async def left_behind(self, older_than_s: float, limit: int) -> list[OutboxRecord]:
        self._check()
        return list(self.outbox.values())[:limit]

    # -- the leader's scans ---------------------------------------------------------------------

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]:
        self._check()
        live = (SessionStatus.ACTIVE, SessionStatus.IDLE)
        due = [
            s
            for s in self.sessions.values()
            if s.status in live and s.expires_at is not None and s.expires_at <= now
        ]
        return [s.persistent_session_id for s in sorted(due, key=lambda s: s.expires_at or now)][
            :limit
        ]

    async def due_to_archive(self, idle_before: datetime, limit: int) -> list[uuid.UUID]:
        self._check()
        return [
            s.persistent_session_id
            for s in self.sessions.values()
            if s.status in (SessionStatus.IDLE, SessionStatus.EXPIRED)
            and (s.last_interaction_at or s.created_at) <= idle_before
        ][:limit]

    async def orphans(self, first_seen_before: datetime, limit: int) -> list[OrphanRow]:
        self._check()
        out = []
        for s in self.sessions.values():
            for c in s.conversations:
                if (
                    c.state.value == "live"
                    and c.first_seen_at <= first_seen_before
                    and s.latest_snapshot is None
                    and f"orphaned_conversation:{c.conversation_id}" not in self.alert_log
                ):
                    out.append(
                        OrphanRow(c.conversation_id, s.persistent_session_id, c.first_seen_at)
                    )
        return out[:limit]

    async def unmapped(self, first_seen_before: datetime, limit: int) -> list[UnmappedRow]:
        self._check()
        return [
            UnmappedRow(c, first, len(held), 0)
            for c, (first, held) in self.unmapped_rows.items()
            if first <= first_seen_before
            and c not in self.conversations
            and f"unmapped_conversation:{c}" not in self.alert_log
        ][:limit]

    async def releasable(self, limit: int) -> list[Releasable]:
        self._check()
        return [
            Releasable(c, self.conversations[c], list(held), held[-1].received_at)
            for c, (_, held) in self.unmapped_rows.items()
            if c in self.conversations and held
        ][:limit]

    async def released(self, conversation_id: uuid.UUID, last_seen_at: datetime) -> None:
        self._check()
        row = self.unmapped_rows.get(conversation_id)
        if row is not None and row[1] and row[1][-1].received_at == last_seen_at:
            del self.unmapped_rows[conversation_id]

    async def expire_unmapped(self, first_seen_before: datetime, limit: int) -> int:
        self._check()
        gone = [
            c
            for c, (first, _) in self.unmapped_rows.items()
            if first < first_seen_before and c not in self.conversations
        ][:limit]
        for c in gone:
            del self.unmapped_rows[c]
            self.alert_log.pop(f"unmapped_conversation:{c}", None)
        return len(gone)


if TYPE_CHECKING:
    _PORT: type[WorkerStorage] = MemoryStorage  # mypy checks the fake keeps the port
