"""When a session's data ends, and when a session is first published: the lifecycle's rules for
issuing, erasure and purge, pure like :mod:`processor.core.lifecycle` (which dispatches here).

- **Issued**: the API wrote the session's row (version 0) and says so on the session's
  partition; the worker publishes it at once. Anything already applied wins (no-op).
- **Erased** (a customer's erasure request): everything of the session goes, whatever its
  status, and the id joins the deny list; erasing twice is harmless (the second deletes 0 rows
  and still counts the session as done, so a retried request completes).
- **Purged** (the retention scan): an archived session past ``retention + purge_after`` goes
  the same way, minus the deny list; re-checked here, so a customer who came back is kept.
- **Denied**: an update for an erased session (a late Genesys event, a replayed dead letter)
  is refused without a trace: an alert would carry the very id that was erased.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from schemas.commands import (
    ApplySnapshot,
    EraseSession,
    ObserveConversation,
    PurgeSession,
    SessionIssued,
    SessionUpdate,
)
from schemas.session import LifecycleEvent, SessionState, SessionStatus

__all__ = [
    "Removal",
    "RemovalKind",
    "customer_digest",
    "issued_session",
    "purge_due",
    "purge_update",
    "session_digest",
    "update_customer",
]


class RemovalKind(StrEnum):
    ERASED = "erased"
    PURGED = "purged"


@dataclass(frozen=True)
class Removal:
    """Delete every row of the session and tombstone it on ``chat.sessions`` (an effect)."""

    persistent_session_id: uuid.UUID
    kind: RemovalKind
    erasure_id: uuid.UUID | None = None


def session_digest(psid: uuid.UUID) -> str:
    """How the deny list and an erasure's progress name a session: a digest, not the id, so
    the list itself holds nothing that identifies anyone."""
    return hashlib.sha256(f"session:{psid}".encode()).hexdigest()


def customer_digest(customer_id_hashed: str) -> str:
    return hashlib.sha256(f"customer:{customer_id_hashed}".encode()).hexdigest()


def update_customer(update: SessionUpdate) -> tuple[str | None, datetime]:
    """The customer hash an update carries and when its event happened (its own time, not
    when it was received: a dead letter replayed today still happened before an erasure)."""
    cmd = update.command
    if isinstance(cmd, ApplySnapshot):
        return cmd.snapshot.customer_id_hashed, cmd.snapshot.timestamp
    if isinstance(cmd, ObserveConversation):
        obs = cmd.observation
        return obs.customer_id_hashed, obs.event_time or obs.started_at or update.received_at
    if isinstance(cmd, SessionIssued):
        return cmd.customer_id_hashed, cmd.issued_at
    return None, update.received_at


def removal_of(
    session: SessionState | None,
    cmd: EraseSession | PurgeSession,
    psid: uuid.UUID,
    *,
    retention: timedelta,
    purge_after: timedelta | None,
) -> Removal | None:
    if isinstance(cmd, EraseSession):
        return Removal(psid, RemovalKind.ERASED, cmd.erasure_id)
    if session is None or not purge_due(session, cmd.due_at, retention, purge_after):
        return None
    return Removal(psid, RemovalKind.PURGED)


def purge_due(
    session: SessionState, now: datetime, retention: timedelta, purge_after: timedelta | None
) -> bool:
    """Archived (after ``retention``) and quiet for ``purge_after`` more: its data ends."""
    if purge_after is None or session.status is not SessionStatus.ARCHIVED:
        return False
    last = session.last_interaction_at or session.created_at
    return last + retention + purge_after <= now


def purge_update(psid: uuid.UUID, now: datetime) -> SessionUpdate:
    """From the retention scan, through the session's partition; re-checked there."""
    return SessionUpdate(
        persistent_session_id=psid,
        source_id=f"timer:purge:{psid}:{now.isoformat()}",
        received_at=now,
        command=PurgeSession(due_at=now),
    )


def issued_session(
    session: SessionState | None, cmd: SessionIssued, psid: uuid.UUID, now: datetime
) -> SessionState | None:
    """The session as issued, to publish; None when the worker has applied it already (the
    API's row is version 0 until then)."""
    if session is not None and session.version > 0:
        return None
    if session is None:
        return SessionState(
            persistent_session_id=psid,
            status=SessionStatus.IDLE,
            customer_id_hashed=cmd.customer_id_hashed,
            previous_session_id=cmd.previous_session_id,
            last_interaction_at=cmd.issued_at,
            expires_at=cmd.expires_at,
            created_at=cmd.issued_at,
            updated_at=now,
            lifecycle_event=LifecycleEvent.ISSUED,
        )
    return session.model_copy(update={"lifecycle_event": LifecycleEvent.ISSUED})
