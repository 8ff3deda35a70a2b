"""Small builders so each lifecycle test reads as the story it tells."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from processor.core.lifecycle import Decision, LifecyclePolicy, decide
from processor.core.snapshots import guard_snapshot
from schemas.commands import (
    ApplySnapshot,
    ArchiveSession,
    CloseSession,
    Command,
    ExpireSession,
    ObserveConversation,
    SessionUpdate,
)
from schemas.observation import ConversationObservation, ConversationState
from schemas.session import SessionState
from schemas.snapshot import SnapshotIn

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PSID = uuid.UUID("00000000-0000-4000-8000-00000000a001")
C1 = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
C2 = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
C3 = uuid.UUID("00000000-0000-4000-8000-0000000000c3")
POLICY = LifecyclePolicy(ttl=timedelta(hours=72), retention=timedelta(days=90))
_offsets = itertools.count()


def update(cmd: Command, at: datetime, psid: uuid.UUID = PSID) -> SessionUpdate:
    return SessionUpdate(
        persistent_session_id=psid, source_id=f"t:0:{next(_offsets)}", received_at=at, command=cmd
    )


def live(conv: uuid.UUID, at: datetime, **kw: object) -> ObserveConversation:
    obs = ConversationObservation(
        conversation_id=conv,
        source_topic="v2.routing.queues.q.conversations.messages",
        state=ConversationState.LIVE,
        event_time=at,
        media_type="message",
        **kw,  # type: ignore[arg-type]
    )
    return ObserveConversation(observation=obs)


def ended(conv: uuid.UUID, at: datetime, disconnect: str = "client") -> ObserveConversation:
    obs = ConversationObservation(
        conversation_id=conv,
        source_topic="v2.detail.events.conversation.x.customer.end",
        event="customer.end",
        state=ConversationState.ENDED,
        event_time=at,
        ended_at=at,
        disconnect_type=disconnect,
    )
    return ObserveConversation(observation=obs)


def snapshot(
    at: datetime,
    intent: str = "billing",
    steps: int = 1,
    conv: uuid.UUID | None = C1,
    message: str = "How can I help?",
) -> ApplySnapshot:
    s = SnapshotIn(
        persistent_session_id=PSID,
        conversation_id=conv,
        timestamp=at,
        state_snapshot={"intent": intent, "stepsCompleted": steps, "lastAgentMessage": message},  # type: ignore[arg-type]
    )
    g = guard_snapshot(s)
    return ApplySnapshot(snapshot=g.snapshot, content_id=g.content_id, pii_findings=g.findings)


def run(
    cmds: list[tuple[Command, datetime]],
    session: SessionState | None = None,
    policy: LifecyclePolicy = POLICY,
) -> tuple[SessionState | None, list[Decision]]:
    decisions = []
    for cmd, at in cmds:
        d = decide(session, update(cmd, at), policy)
        decisions.append(d)
        session = d.session if d.session is not None else session
    return session, decisions


__all__ = [
    "C1",
    "C2",
    "C3",
    "POLICY",
    "PSID",
    "T0",
    "ArchiveSession",
    "CloseSession",
    "ExpireSession",
    "ended",
    "live",
    "run",
    "snapshot",
    "update",
]
