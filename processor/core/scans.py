"""What the leader's periodic scans decide: the commands and alerts that follow from what the
database says is due. Pure, like the lifecycle; the worker shell runs the queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from processor.core.lifecycle import alert
from schemas.alerts import Alert, AlertType, Severity
from schemas.commands import ArchiveSession, ExpireSession, SessionUpdate

__all__ = [
    "SAMPLE_IDS",
    "CappedAlerts",
    "aggregate_alert",
    "archive_update",
    "cap_alerts",
    "expire_update",
    "orphan_alert",
    "parked_overflow_alert",
    "unmapped_alert",
]

SAMPLE_IDS = 5  # ids an aggregate alert names: enough to start looking, never a dump


def expire_update(psid: uuid.UUID, now: datetime) -> SessionUpdate:
    """An expiry goes through the session's partition like every other change; the lifecycle
    re-checks it there, so a duplicate or late command is harmless."""
    return SessionUpdate(
        persistent_session_id=psid,
        source_id=f"timer:expire:{psid}:{now.isoformat()}",
        received_at=now,
        command=ExpireSession(due_at=now),
    )


def archive_update(psid: uuid.UUID, now: datetime) -> SessionUpdate:
    return SessionUpdate(
        persistent_session_id=psid,
        source_id=f"timer:archive:{psid}:{now.isoformat()}",
        received_at=now,
        command=ArchiveSession(due_at=now),
    )


def orphan_alert(
    conversation_id: uuid.UUID,
    psid: uuid.UUID,
    first_seen: datetime,
    now: datetime,
    grace: timedelta,
) -> Alert:
    """The seed's 'orphaned session': the chat goes on in Genesys but no state is being saved
    (the data action never fired or keeps failing), so a return would find nothing."""
    return alert(
        AlertType.ORPHANED_CONVERSATION,
        Severity.WARNING,
        f"conversation live for more than {int(grace.total_seconds() // 60)} min "
        "with no state snapshot persisted; check the flow's data action",
        f"orphaned_conversation:{conversation_id}",
        now,
        persistent_session_id=psid,
        conversation_id=conversation_id,
        details={"firstSeenAt": first_seen.isoformat(), "graceSeconds": grace.total_seconds()},
    )


def unmapped_alert(
    conversation_id: uuid.UUID, first_seen: datetime, parked: int, dropped: int, now: datetime
) -> Alert:
    """Genesys events for a conversation whose persistentSessionId never arrived: the web
    client did not put it into the chat's context (or used another attribute name)."""
    return alert(
        AlertType.UNMAPPED_CONVERSATION,
        Severity.WARNING,
        "Genesys events for a conversation with no persistentSessionId and no snapshot; "
        "check that the web client injects it into the chat context",
        f"unmapped_conversation:{conversation_id}",
        now,
        conversation_id=conversation_id,
        details={
            "firstSeenAt": first_seen.isoformat(),
            "parkedEvents": parked,
            "droppedEvents": dropped,
        },
    )


@dataclass(frozen=True)
class CappedAlerts:
    shown: list[Alert]  # published one by one
    covered: list[Alert]  # recorded as raised (never paged later), told only in the aggregate
    aggregate: Alert | None


def cap_alerts(alerts: Sequence[Alert], cap: int, now: datetime) -> CappedAlerts:
    """At most ``cap`` per-conversation alerts of one scan round, then one aggregate for the
    rest. A flood of a million unmapped ids would otherwise page a million times; the covered
    ones are recorded as raised, so a later round does not page them one by one either."""
    if len(alerts) <= cap:
        return CappedAlerts(list(alerts), [], None)
    shown, covered = list(alerts[:cap]), list(alerts[cap:])
    samples = [a.conversation_id for a in covered if a.conversation_id is not None]
    return CappedAlerts(
        shown, covered, aggregate_alert(covered[0].type, len(covered), samples, cap, now)
    )


def aggregate_alert(
    kind: AlertType, count: int, conversation_ids: Sequence[uuid.UUID], cap: int, now: datetime
) -> Alert:
    """One alert standing for ``count`` per-conversation alerts of a round: ids only."""
    return alert(
        kind,
        Severity.WARNING,
        f"{count} more {kind.value} cases this scan round than the {cap} alerted one by one; "
        "likely one cause (a flood, a broken integration)",
        f"{kind.value}:aggregate:{now.isoformat()}",
        now,
        details={
            "aggregate": True,
            "count": count,
            "alertedIndividually": cap,
            "sampleConversationIds": [str(c) for c in conversation_ids[:SAMPLE_IDS]],
        },
    )


def parked_overflow_alert(
    worker: str, since: datetime, limit: int, refused_conversations: int
) -> Alert:
    """The parked table is full: events of new unmapped conversations are being refused (not
    parked, so never applied). Once per episode per worker (the key names when it began)."""
    return alert(
        AlertType.PARKED_OVERFLOW,
        Severity.CRITICAL,
        f"{limit} conversations are parked without a known session; events of further "
        "unmapped conversations are being dropped",
        f"parked_overflow:{worker}:{since.isoformat()}",
        since,
        details={
            "limit": limit,
            "refusedConversations": refused_conversations,
            "worker": worker,
        },
    )
