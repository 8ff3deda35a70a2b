"""The lifecycle's rule for a state snapshot (a data action's body, already PII-scanned).

Every snapshot goes to history; the latest is the one with the newest timestamp (on a tie the
later arrival wins), so a late, older one never replaces it; the same snapshot twice is a no-op.
A snapshot naming a conversation the session has not seen maps that conversation to the session
(a data action runs inside a live conversation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from processor.core.decision import Decision, LifecyclePolicy, SnapshotRow, alert, evolve
from processor.core.observe_rules import observe, touch
from schemas.alerts import Alert, AlertType, Severity
from schemas.commands import ApplySnapshot
from schemas.observation import ConversationObservation, ConversationState
from schemas.session import ConversationRecord, SessionState

__all__ = ["apply_snapshot"]


def apply_snapshot(
    s: SessionState, cmd: ApplySnapshot, now: datetime, policy: LifecyclePolicy
) -> Decision:
    snap = cmd.snapshot
    if cmd.content_id == s.latest_snapshot_content_id:
        return Decision(s)  # the same snapshot again (a retried data action, a replay)
    state = snap.state_snapshot.model_dump(mode="json", by_alias=True)
    row = SnapshotRow(
        persistent_session_id=s.persistent_session_id,
        conversation_id=snap.conversation_id,
        snapshot_at=snap.timestamp,
        received_at=now,
        source_id=cmd.content_id,
        state=state,
        custom_properties=snap.custom_properties,
        pii_findings=[{"path": f.path, "kind": f.kind} for f in cmd.pii_findings],
    )
    alerts: list[Alert] = []
    conversations: list[ConversationRecord] = []
    s2 = s
    if snap.conversation_id and s.conversation(snap.conversation_id) is None:
        # A data action runs inside a live conversation: that maps it to this session.
        seen = observe(
            s2,
            ConversationObservation(
                conversation_id=snap.conversation_id,
                source_topic="chat.snapshots",
                state=ConversationState.LIVE,
                event_time=snap.timestamp,
            ),
            now,
            policy,
        )
        if seen.session is not None:
            s2 = seen.session
        conversations, alerts = seen.conversations, list(seen.alerts)
    updates: dict[str, Any] = {}
    if s.latest_snapshot_at is None or snap.timestamp >= s.latest_snapshot_at:
        updates = {
            "latest_snapshot": state,
            "latest_snapshot_at": snap.timestamp,
            "latest_snapshot_content_id": cmd.content_id,
        }
    if snap.customer_id_hashed and not s2.customer_id_hashed:
        updates["customer_id_hashed"] = snap.customer_id_hashed
    s2 = touch(evolve(s2, updates), snap.timestamp, policy)
    if cmd.pii_findings:
        alerts.append(
            alert(
                AlertType.PII_DETECTED,
                Severity.WARNING,
                "PII reached chatstate in a state snapshot and was redacted before storage",
                f"pii_detected:{s.persistent_session_id}:{cmd.content_id}",
                now,
                persistent_session_id=s.persistent_session_id,
                conversation_id=snap.conversation_id,
                details={"findings": [{"path": f.path, "kind": f.kind} for f in cmd.pii_findings]},
            )
        )
    return Decision(s2, True, conversations, row, alerts)
