"""The lifecycle's rules for a conversation observed (a Genesys event, or a data action's
conversation): merge it into the session's conversations, then let status follow.

- A conversation that ended stays ended: Genesys events arrive out of order, and an end seen
  before its start must converge to "ended", not be revived by the late start.
- A second conversation that becomes live while another of the session is live is a second tab
  (or a second device): it is recorded with ``concurrent_with``, the first stays current, and one
  ``concurrent_session`` alert names the pair.
- An expired or archived session that sees a *new* live conversation is the returning customer:
  it becomes active again and the new conversation is tagged with the old one it resumes from.
- PII in the customer's attributes never reached here; its keys raise one ``pii_detected``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from processor.core.decision import Decision, LifecyclePolicy, alert, evolve
from processor.core.session_rows import DECIDED_COLUMNS
from schemas.alerts import Alert, AlertType, Severity
from schemas.observation import ConversationObservation, ConversationState
from schemas.session import ConversationRecord, LifecycleEvent, SessionState, SessionStatus

__all__ = ["observe", "observed_at", "touch"]


def observed_at(obs: ConversationObservation, now: datetime) -> datetime:
    """When the observed thing happened, from the event itself: conversation notifications
    carry no event time, but their participants' start/connect/end times say it. Only an event
    with no time at all falls back to *now* — so a re-sent event is recognised as the same."""
    times = [t for t in (obs.event_time, obs.ended_at, obs.started_at) if t is not None]
    for p in obs.participants:
        times.extend(t for t in (p.connected_at, p.ended_at) if t is not None)
    return max(times) if times else now


def _merge(
    rec: ConversationRecord | None,
    obs: ConversationObservation,
    now: datetime,
    event_time: datetime,
) -> ConversationRecord:
    if rec is None:
        state = obs.state or ConversationState.LIVE  # seen, not seen to end
        return ConversationRecord(
            conversation_id=obs.conversation_id,
            state=state,
            media_type=obs.media_type,
            queue_id=obs.queue_id,
            started_at=obs.started_at or (event_time if state is ConversationState.LIVE else None),
            ended_at=(obs.ended_at or event_time) if state is ConversationState.ENDED else None,
            disconnect_type=obs.disconnect_type,
            resumed_from_conversation_id=obs.resumed_from_conversation_id,
            first_seen_at=now,
            updated_at=now,
        )
    changes: dict[str, Any] = {}
    for name in ("media_type", "queue_id", "started_at", "resumed_from_conversation_id"):
        if getattr(rec, name) is None and getattr(obs, name) is not None:
            changes[name] = getattr(obs, name)
    if obs.state is ConversationState.ENDED:
        if rec.state is not ConversationState.ENDED:
            changes["state"] = ConversationState.ENDED
            changes["ended_at"] = obs.ended_at or event_time
        if rec.disconnect_type is None and obs.disconnect_type:
            changes["disconnect_type"] = obs.disconnect_type
        if rec.ended_at is None and "ended_at" not in changes:
            changes["ended_at"] = obs.ended_at or event_time
    if not changes:
        return rec
    return evolve(rec, {**changes, "updated_at": now})


def observe(
    s: SessionState, obs: ConversationObservation, now: datetime, policy: LifecyclePolicy
) -> Decision:
    before = s.conversation(obs.conversation_id)
    event_time = observed_at(obs, now)
    rec = _merge(before, obs, now, event_time)
    alerts: list[Alert] = []
    updates: dict[str, Any] = {}
    if obs.customer_id_hashed and not s.customer_id_hashed:
        updates["customer_id_hashed"] = obs.customer_id_hashed

    newly_live = rec.state is ConversationState.LIVE and before is None
    if newly_live and s.status is not SessionStatus.CLOSED:
        if s.status in (SessionStatus.EXPIRED, SessionStatus.ARCHIVED):
            # The returning customer: a new conversation tagged with the one it resumes from.
            old = rec.resumed_from_conversation_id or s.current_conversation_id
            rec = evolve(rec, {"resumed_from_conversation_id": old})
            updates |= {
                "status": SessionStatus.ACTIVE,
                "current_conversation_id": rec.conversation_id,
                "resumed_from_conversation_id": old,
                "lifecycle_event": LifecycleEvent.RESUMED,
            }
        else:
            other = next(
                (
                    c
                    for c in s.conversations
                    if c.state is ConversationState.LIVE
                    and c.conversation_id != rec.conversation_id
                ),
                None,
            )
            if other is not None:
                rec = evolve(rec, {"concurrent_with": other.conversation_id})
                a, b = sorted((str(other.conversation_id), str(rec.conversation_id)))
                alerts.append(
                    alert(
                        AlertType.CONCURRENT_SESSION,
                        Severity.WARNING,
                        "two conversations are live at once for one session (two tabs or devices)",
                        f"concurrent_session:{s.persistent_session_id}:{a}:{b}",
                        now,
                        persistent_session_id=s.persistent_session_id,
                        conversation_id=rec.conversation_id,
                        details={
                            "current": str(other.conversation_id),
                            "concurrent": str(rec.conversation_id),
                        },
                    )
                )

    if obs.pii_attribute_keys:
        # Custom context (legacy web chat's context.customProperties, Web Messaging custom
        # attributes) carried PII: the value never left the normaliser, the key names it.
        keys = sorted(set(obs.pii_attribute_keys))
        alerts.append(
            alert(
                AlertType.PII_DETECTED,
                Severity.WARNING,
                "PII reached chatstate in a conversation's custom attributes; not stored",
                f"pii_detected:attributes:{obs.conversation_id}:{','.join(keys)}",
                now,
                persistent_session_id=s.persistent_session_id,
                conversation_id=obs.conversation_id,
                details={
                    "findings": [
                        {"path": f"$.customer.attributes.{k}", "kind": "pii"} for k in keys
                    ]
                },
            )
        )

    conversations = [c for c in s.conversations if c.conversation_id != rec.conversation_id]
    conversations.append(rec)
    # By first sight, then id: a UUID orders as its text does (fixed-width lower-case hex),
    # without formatting every conversation's id on every update.
    conversations.sort(key=lambda c: (c.first_seen_at, c.conversation_id))
    changed_conv = rec is not before and rec != before
    # One copy of the session for the whole rule: status and current conversation settle, then
    # the interaction is recorded (an expiry moves with it), as changes to the same dict.
    fields: dict[str, Any] = {**updates, "conversations": conversations}
    fields |= _settled(
        fields.get("status", s.status),
        fields.get("current_conversation_id", s.current_conversation_id),
        conversations,
    )
    fields |= _touched(
        fields.get("status", s.status), s.last_interaction_at, s.expires_at, event_time, policy
    )
    s2 = evolve(s, fields)
    changed = changed_conv or _row_changed(s, s2)
    if not changed:
        return Decision(s, alerts=alerts)
    return Decision(s2, True, [rec] if changed_conv else [], None, alerts)


def _settled(
    status: SessionStatus,
    current_id: uuid.UUID | None,
    conversations: Sequence[ConversationRecord],
) -> dict[str, Any]:
    """Status and current conversation follow from the conversations (closed/expired/archived
    are left alone: only a new conversation or a command moves a session out of them).
    Returns what changes (nothing when they already follow)."""
    if status not in (SessionStatus.ACTIVE, SessionStatus.IDLE):
        return {}
    live = [c for c in conversations if c.state is ConversationState.LIVE]
    current = (
        next((c for c in conversations if c.conversation_id == current_id), None)
        if current_id
        else None
    )
    if current is None or current.state is not ConversationState.LIVE:
        preferred = [c for c in live if c.concurrent_with is None] or live
        if preferred:
            current = preferred[0]
    settled = SessionStatus.ACTIVE if live else SessionStatus.IDLE
    cur_id = current.conversation_id if current else current_id
    if settled == status and cur_id == current_id:
        return {}
    return {"status": settled, "current_conversation_id": cur_id}


def _touched(
    status: SessionStatus,
    last_at: datetime | None,
    expires_at: datetime | None,
    at: datetime,
    policy: LifecyclePolicy,
) -> dict[str, Any]:
    """An interaction at ``at``: the latest interaction, and a resumable session's expiry
    moving with it. Returns what changes."""
    last = max(at, last_at) if last_at else at
    expires = last + policy.ttl if status.resumable else expires_at
    if last == last_at and expires == expires_at:
        return {}
    return {"last_interaction_at": last, "expires_at": expires}


def touch(s: SessionState, at: datetime, policy: LifecyclePolicy) -> SessionState:
    """Record an interaction; a resumable session's expiry moves with it."""
    changes = _touched(s.status, s.last_interaction_at, s.expires_at, at, policy)
    return evolve(s, changes) if changes else s


def _row_changed(a: SessionState, b: SessionState) -> bool:
    # ``is`` first: the rules copy a session with its unchanged values shared, so most columns
    # are the very same object and need no (Python-level, for UUIDs) equality test.
    va, vb = a.__dict__, b.__dict__
    return any(va[f] is not vb[f] and va[f] != vb[f] for f in DECIDED_COLUMNS)
