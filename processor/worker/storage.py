"""The worker's one storage port: everything the two stages and the scans ask of PostgreSQL.

Why a port (issue 14, "the worker's shape"): the worker's SQL was spread over the sink, the
scans, the runtime and the publisher, so its shell could only be tested against the real
database. The shell now talks to :class:`WorkerStorage`; ``processor/worker/pg_storage.py`` is
the asyncpg implementation (integration tests use it, against the real database) and
``processor/worker/memory_storage.py`` an in-memory fake for fast unit tests of the shells.

Every method is one unit of work (its own transaction where it writes), safe to retry: the
runtime's retry loops re-run a method whole after a transient failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from processor.core.route import Parked
from processor.worker.outbox import OutboxRecord
from processor.worker.unit_of_work import BatchItem, BatchOutcome
from processor.worker.unmapped import ParkOutcome
from schemas.alerts import Alert

__all__ = ["OrphanRow", "Releasable", "UnmappedRow", "WorkerStorage"]


@dataclass(frozen=True)
class OrphanRow:
    conversation_id: uuid.UUID
    persistent_session_id: uuid.UUID
    first_seen_at: datetime


@dataclass(frozen=True)
class UnmappedRow:
    conversation_id: uuid.UUID
    first_seen_at: datetime
    observations: int
    dropped: int


@dataclass(frozen=True)
class Releasable:
    """Parked observations whose conversation a session has claimed since."""

    conversation_id: uuid.UUID
    persistent_session_id: uuid.UUID
    parked: list[Parked]
    last_seen_at: datetime


class WorkerStorage(Protocol):
    # -- health ---------------------------------------------------------------------------------
    async def ping(self) -> bool:
        """Does the database answer (on a fresh connection)?"""
        ...

    async def reset(self) -> None:
        """Drop connections that may be left over from before a server restart."""
        ...

    # -- stage 1 --------------------------------------------------------------------------------
    async def mappings(self, conversations: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """Conversation id -> persistentSessionId, for those that have one."""
        ...

    async def parked(self, conversations: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Parked]]:
        """The observations parked for these conversations, in arrival order."""
        ...

    async def park(self, parked: Sequence[Parked], limit: int) -> ParkOutcome:
        """Park within the table's bound of ``limit`` conversations."""
        ...

    async def release(self, conversations: Sequence[uuid.UUID]) -> None:
        """Forget parked observations that were forwarded."""
        ...

    # -- stage 2 --------------------------------------------------------------------------------
    async def apply(self, items: Sequence[BatchItem]) -> BatchOutcome:
        """Apply updates and store the positions they cover, in one transaction; updates below
        the stored position are replays and skipped."""
        ...

    async def skip(self, topic: str, partition: int, after: tuple[int, int]) -> None:
        """Move a position past an update that was dead-lettered instead."""
        ...

    # -- alerts and the outbox ------------------------------------------------------------------
    async def record_alerts(
        self, alerts: Sequence[Alert], *, also_known: Sequence[Alert] = ()
    ) -> list[OutboxRecord]:
        """Record ``alerts`` and ``also_known`` in the alert log and queue for publishing those
        of ``alerts`` never told before (``also_known``: recorded, never published)."""
        ...

    async def forget(self, records: Sequence[OutboxRecord]) -> None:
        """Delete outbox rows Kafka acknowledged."""
        ...

    async def left_behind(self, older_than_s: float, limit: int) -> list[OutboxRecord]:
        """Outbox rows older than a live worker needs to publish them (a crashed worker's)."""
        ...

    # -- the leader's scans ---------------------------------------------------------------------
    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]: ...

    async def due_to_archive(self, idle_before: datetime, limit: int) -> list[uuid.UUID]: ...

    async def orphans(self, first_seen_before: datetime, limit: int) -> list[OrphanRow]:
        """Live conversations without a snapshot and not alerted yet."""
        ...

    async def unmapped(self, first_seen_before: datetime, limit: int) -> list[UnmappedRow]:
        """Parked conversations no session claimed, not alerted yet."""
        ...

    async def releasable(self, limit: int) -> list[Releasable]: ...

    async def released(self, conversation_id: uuid.UUID, last_seen_at: datetime) -> None:
        """Forget a released conversation's parked events (unless more arrived meanwhile)."""
        ...

    async def expire_unmapped(self, first_seen_before: datetime, limit: int) -> int: ...
