"""The lifecycle's rules for the commands: close (the API), expire and archive (the scans).

The scans decide from a read that may be stale, so each rule re-checks its condition against
the session as it is now: an interaction applied since the scan looked wins, and a command that
no longer applies is a no-op (``Decision(session)``, unchanged).
"""

from __future__ import annotations

from datetime import datetime

from processor.core.decision import Decision, LifecyclePolicy, alert, evolve
from schemas.alerts import AlertType, Severity
from schemas.session import LifecycleEvent, SessionState, SessionStatus

__all__ = ["archive", "close", "expire"]


def close(s: SessionState, now: datetime) -> Decision:
    if s.status is SessionStatus.CLOSED:
        return Decision(s)
    return Decision(
        evolve(s, {"status": SessionStatus.CLOSED, "expires_at": None,
                   "lifecycle_event": LifecycleEvent.CLOSED}),
        True,
    )


def expire(s: SessionState, due_at: datetime, now: datetime) -> Decision:
    # Re-checked here: the scan may have looked before an interaction that is now applied.
    if not s.status.resumable or s.expires_at is None or s.expires_at > due_at:
        return Decision(s)
    expired = evolve(
        s, {"status": SessionStatus.EXPIRED, "lifecycle_event": LifecycleEvent.EXPIRED}
    )
    return Decision(
        expired,
        True,
        alerts=[
            alert(
                AlertType.SESSION_EXPIRED,
                Severity.INFO,
                "session expired after its TTL without interaction; "
                "a return starts a new conversation",
                f"session_expired:{s.persistent_session_id}:{s.expires_at.isoformat()}",
                now,
                persistent_session_id=s.persistent_session_id,
                conversation_id=s.current_conversation_id,
                details={
                    "lastInteractionAt": s.last_interaction_at.isoformat()
                    if s.last_interaction_at
                    else None,
                    "expiresAt": s.expires_at.isoformat(),
                },
            )
        ],
    )


def archive(s: SessionState, due_at: datetime, policy: LifecyclePolicy) -> Decision:
    if s.status not in (SessionStatus.IDLE, SessionStatus.EXPIRED):
        return Decision(s)
    last = s.last_interaction_at or s.created_at
    if last + policy.retention > due_at:
        return Decision(s)
    return Decision(
        evolve(s, {"status": SessionStatus.ARCHIVED, "lifecycle_event": LifecycleEvent.ARCHIVED}),
        True,
    )
