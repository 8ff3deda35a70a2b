"""What the leader's periodic scans decide: the commands and alerts that follow from what the
database says is due. Pure, like the lifecycle; the worker shell runs the queries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from processor.core.lifecycle import alert
from schemas.alerts import Alert, AlertType, Severity
from schemas.commands import ArchiveSession, ExpireSession, SessionUpdate

__all__ = ["archive_update", "expire_update", "orphan_alert", "unmapped_alert"]


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
