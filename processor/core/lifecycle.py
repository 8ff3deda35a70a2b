"""A persistent session's whole lifecycle, as one pure function.

``decide(session, update, policy)`` returns the session after the update and what must follow
from it (conversation rows, a snapshot history row, alerts). It reads no clock — *now* is the
update's ``received_at`` — and does no I/O, so replaying the same updates always computes the
same sessions; the sink and the agents only carry out what it decides. The state diagram and
the rules in words are in ``docs/lifecycle.md``.

Rules that are easy to get wrong, and why they are this way:

- A session starts on first sight (many deployments issue ids from their own back end), unless
  ``require_issued`` is set: then an id chatstate did not issue raises ``unknown_session``.
- A conversation that ended stays ended: Genesys events arrive out of order, and an end seen
  before its start must converge to "ended", not be revived by the late start.
- A second conversation that becomes live while another of the session is live is a second tab
  (or a second device): it is recorded with ``concurrent_with``, the first stays current, and one
  ``concurrent_session`` alert names the pair.
- An expired or archived session that sees a *new* live conversation is the returning customer:
  it becomes active again and the new conversation is tagged with the old one it resumes from.
- A snapshot older than the latest (by its timestamp; on a tie the later arrival wins) goes to
  history but never replaces the latest; the same snapshot twice is a no-op.
- ``version`` grows by one for every update that changed anything, and only then.
- Issuing, erasure and purge (and the deny list of erased sessions) are in
  :mod:`processor.core.removal`; a removal is a ``Decision`` with ``removal`` set.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from processor.core.removal import Removal, issued_session, removal_of
from schemas.alerts import Alert, AlertType, Severity, runbook_link
from schemas.commands import (
    ApplySnapshot,
    ArchiveSession,
    CloseSession,
    EraseSession,
    ExpireSession,
    ObserveConversation,
    PurgeSession,
    SessionIssued,
    SessionUpdate,
)
from schemas.observation import ConversationObservation, ConversationState
from schemas.session import ConversationRecord, LifecycleEvent, SessionState, SessionStatus

__all__ = ["Decision", "LifecyclePolicy", "SnapshotRow", "alert", "decide", "state_id"]

_IDS = uuid.UUID("6f1f3c1e-2d0b-4a55-9a43-63686174a7a7")  # namespace for derived ids
_DEDUP_KEY_MAX = 400  # characters; the alert log indexes dedup keys (btree rows <= ~2.7 kB)


def state_id(psid: uuid.UUID, version: int) -> uuid.UUID:
    """The id of a published session state: the same (session, version) always has the same id,
    so a state re-sent after a crash is recognised by consumers."""
    return uuid.uuid5(_IDS, f"{psid}:{version}")


@dataclass(frozen=True)
class LifecyclePolicy:
    ttl: timedelta = timedelta(hours=72)
    retention: timedelta = timedelta(days=90)
    require_issued: bool = False
    purge_after: timedelta | None = None  # after archiving; None: never purge


@dataclass(frozen=True)
class SnapshotRow:
    """One row of snapshot history."""

    persistent_session_id: uuid.UUID
    conversation_id: uuid.UUID | None
    snapshot_at: datetime
    received_at: datetime
    source_id: str
    state: dict[str, Any]
    custom_properties: dict[str, Any] | None
    pii_findings: list[dict[str, str]]


@dataclass(frozen=True)
class Decision:
    """What an update did. ``session`` is None only when the update was refused outright."""

    session: SessionState | None
    changed: bool = False
    conversations: list[ConversationRecord] = field(default_factory=list)
    snapshot: SnapshotRow | None = None
    alerts: list[Alert] = field(default_factory=list)
    removal: Removal | None = None  # delete the session's rows, tombstone it


def alert(
    kind: AlertType,
    severity: Severity,
    summary: str,
    dedup_key: str,
    now: datetime,
    *,
    persistent_session_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> Alert:
    """An alert whose id derives from its dedup key: a re-sent alert carries the same id.

    A dedup key built from a record's content (attribute keys, field paths) can be long; past
    ``_DEDUP_KEY_MAX`` characters it keeps its head and a digest of the whole, so it stays
    unique and under PostgreSQL's index row limit (a longer one failed every insert)."""
    if len(dedup_key) > _DEDUP_KEY_MAX:
        digest = hashlib.sha256(dedup_key.encode("utf-8", "surrogatepass")).hexdigest()
        dedup_key = f"{dedup_key[:120]}...sha256:{digest}"
    return Alert(
        id=uuid.uuid5(_IDS, dedup_key),
        type=kind,
        severity=severity,
        persistent_session_id=persistent_session_id,
        conversation_id=conversation_id,
        detected_at=now,
        summary=summary,
        details=details or {},
        dedup_key=dedup_key,
        runbook=runbook_link(kind.value.replace("_", "-")),
    )


def decide(
    session: SessionState | None,
    update: SessionUpdate,
    policy: LifecyclePolicy,
    *,
    issued: bool = True,
    known_snapshots: AbstractSet[str] = frozenset(),
    erased: bool = False,
) -> Decision:
    """Apply one update. ``issued`` says whether chatstate's API issued this id (only consulted
    for a session seen for the first time under ``require_issued``); ``known_snapshots`` are the
    content ids already in the session's snapshot history (the same snapshot twice is a no-op);
    ``erased``: the session (or, for a new one, its customer) is on the deny list."""
    now = update.received_at
    psid = update.persistent_session_id
    cmd = update.command
    if isinstance(cmd, EraseSession | PurgeSession):
        removal = removal_of(session, cmd, psid, retention=policy.retention,
                             purge_after=policy.purge_after)
        return Decision(session if removal is None else None, removal=removal)
    if erased:
        return Decision(None)  # refused without an alert: one would name the erased id
    if session is not None and session.lifecycle_event is not None:
        session = session.model_copy(update={"lifecycle_event": None})  # set per version
    if isinstance(cmd, SessionIssued):
        issued_state = issued_session(session, cmd, psid, now)
        if issued_state is None:
            return Decision(session)
        session = issued_state.model_copy(update={"version": 0})
        return _versioned(Decision(session, True), session, psid, now)
    if session is None:
        if policy.require_issued and not issued:
            return Decision(
                None,
                alerts=[
                    alert(
                        AlertType.UNKNOWN_SESSION,
                        Severity.WARNING,
                        "an update named a persistentSessionId chatstate did not issue; ignored",
                        f"unknown_session:{psid}",
                        now,
                        persistent_session_id=psid,
                        details={"command": update.command.type},
                    )
                ],
            )
        session = SessionState(
            id=state_id(psid, 0),
            persistent_session_id=psid,
            status=SessionStatus.IDLE,
            version=0,
            created_at=now,
            updated_at=now,
        )
        fresh = True
    else:
        fresh = False

    if isinstance(cmd, ObserveConversation):
        d = _observe(session, cmd.observation, now, policy)
    elif isinstance(cmd, ApplySnapshot):
        d = (
            Decision(session)
            if cmd.content_id in known_snapshots
            else _snapshot(session, cmd, now, policy)
        )
    elif isinstance(cmd, CloseSession):
        d = _close(session, now)
    elif isinstance(cmd, ExpireSession):
        d = _expire(session, cmd.due_at, now)
    elif isinstance(cmd, ArchiveSession):
        d = _archive(session, cmd.due_at, policy)
    else:  # pragma: no cover - the Command union is closed
        raise TypeError(f"unknown command {type(cmd).__name__}")
    if fresh and not d.changed:
        # A new session is a change in itself (it now exists).
        d = Decision(d.session, True, d.conversations, d.snapshot, d.alerts)
    return _versioned(d, session, psid, now)


def _versioned(d: Decision, before: SessionState, psid: uuid.UUID, now: datetime) -> Decision:
    """A change is a new version: ``version`` + 1, ``updated_at`` and the derived state id."""
    if not d.changed or d.session is None:
        return d
    version = before.version + 1
    return Decision(
        d.session.model_copy(
            update={"version": version, "updated_at": now, "id": state_id(psid, version)}
        ),
        True,
        d.conversations,
        d.snapshot,
        d.alerts,
    )


# --- conversations --------------------------------------------------------------------------


def _observed_at(obs: ConversationObservation, now: datetime) -> datetime:
    """When the observed thing happened, from the event itself: conversation notifications
    carry no event time, but their participants' start/connect/end times say it. Only an event
    with no time at all falls back to *now* — so a re-sent event is recognised as the same."""
    times = [t for t in (obs.event_time, obs.ended_at, obs.started_at) if t is not None]
    for p in obs.participants:
        times.extend(t for t in (p.connected_at, p.ended_at) if t is not None)
    return max(times) if times else now


def _merge(
    rec: ConversationRecord | None, obs: ConversationObservation, now: datetime
) -> ConversationRecord:
    event_time = _observed_at(obs, now)
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
    return rec.model_copy(update={**changes, "updated_at": now})


def _observe(
    s: SessionState, obs: ConversationObservation, now: datetime, policy: LifecyclePolicy
) -> Decision:
    before = s.conversation(obs.conversation_id)
    rec = _merge(before, obs, now)
    alerts: list[Alert] = []
    updates: dict[str, Any] = {}
    if obs.customer_id_hashed and not s.customer_id_hashed:
        updates["customer_id_hashed"] = obs.customer_id_hashed

    newly_live = rec.state is ConversationState.LIVE and before is None
    if newly_live and s.status is not SessionStatus.CLOSED:
        if s.status in (SessionStatus.EXPIRED, SessionStatus.ARCHIVED):
            # The returning customer: a new conversation tagged with the one it resumes from.
            old = rec.resumed_from_conversation_id or s.current_conversation_id
            rec = rec.model_copy(update={"resumed_from_conversation_id": old})
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
                rec = rec.model_copy(update={"concurrent_with": other.conversation_id})
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
    conversations.sort(key=lambda c: (c.first_seen_at, str(c.conversation_id)))
    changed_conv = rec != before
    s2 = s.model_copy(update={**updates, "conversations": conversations})
    s2 = _settle(s2)
    s2 = _touch(s2, _observed_at(obs, now), policy)
    changed = changed_conv or _row_changed(s, s2)
    if not changed:
        return Decision(s, alerts=alerts)
    return Decision(s2, True, [rec] if changed_conv else [], None, alerts)


def _settle(s: SessionState) -> SessionState:
    """Status and current conversation follow from the conversations (closed/expired/archived
    are left alone: only a new conversation or a command moves a session out of them)."""
    if s.status not in (SessionStatus.ACTIVE, SessionStatus.IDLE):
        return s
    live = [c for c in s.conversations if c.state is ConversationState.LIVE]
    current = s.conversation(s.current_conversation_id) if s.current_conversation_id else None
    if current is None or current.state is not ConversationState.LIVE:
        preferred = [c for c in live if c.concurrent_with is None] or live
        if preferred:
            current = preferred[0]
    status = SessionStatus.ACTIVE if live else SessionStatus.IDLE
    cur_id = current.conversation_id if current else s.current_conversation_id
    if status == s.status and cur_id == s.current_conversation_id:
        return s
    return s.model_copy(update={"status": status, "current_conversation_id": cur_id})


def _touch(s: SessionState, at: datetime, policy: LifecyclePolicy) -> SessionState:
    """Record an interaction; a resumable session's expiry moves with it."""
    last = max(at, s.last_interaction_at) if s.last_interaction_at else at
    expires = last + policy.ttl if s.status.resumable else s.expires_at
    if last == s.last_interaction_at and expires == s.expires_at:
        return s
    return s.model_copy(update={"last_interaction_at": last, "expires_at": expires})


_ROW_FIELDS = (
    "status",
    "customer_id_hashed",
    "current_conversation_id",
    "resumed_from_conversation_id",
    "latest_snapshot",
    "latest_snapshot_at",
    "latest_snapshot_content_id",
    "last_interaction_at",
    "expires_at",
)


def _row_changed(a: SessionState, b: SessionState) -> bool:
    return any(getattr(a, f) != getattr(b, f) for f in _ROW_FIELDS)


# --- snapshots --------------------------------------------------------------------------------


def _snapshot(
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
        seen = _observe(
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
    s2 = _touch(s2.model_copy(update=updates), snap.timestamp, policy)
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


# --- commands ---------------------------------------------------------------------------------


def _close(s: SessionState, now: datetime) -> Decision:
    if s.status is SessionStatus.CLOSED:
        return Decision(s)
    return Decision(
        s.model_copy(update={"status": SessionStatus.CLOSED, "expires_at": None,
                             "lifecycle_event": LifecycleEvent.CLOSED}),
        True,
    )


def _expire(s: SessionState, due_at: datetime, now: datetime) -> Decision:
    # Re-checked here: the scan may have looked before an interaction that is now applied.
    if not s.status.resumable or s.expires_at is None or s.expires_at > due_at:
        return Decision(s)
    expired = s.model_copy(
        update={"status": SessionStatus.EXPIRED, "lifecycle_event": LifecycleEvent.EXPIRED}
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


def _archive(s: SessionState, due_at: datetime, policy: LifecyclePolicy) -> Decision:
    if s.status not in (SessionStatus.IDLE, SessionStatus.EXPIRED):
        return Decision(s)
    last = s.last_interaction_at or s.created_at
    if last + policy.retention > due_at:
        return Decision(s)
    return Decision(
        s.model_copy(
            update={"status": SessionStatus.ARCHIVED, "lifecycle_event": LifecycleEvent.ARCHIVED}
        ),
        True,
    )
