"""What the agent is told when a customer comes back: a pure decision, no I/O.

When a session's new conversation becomes live and the session has history (a previous
conversation, or the expired predecessor it resumes from), the bridge sets two participant
attributes on the new conversation's customer participant, so the agent sees them in the
interaction's participant data with no custom widget:

- ``chatstate.notice``: "Resuming from archived session ID: <old conversation id>"
- ``chatstate.summary``: the latest snapshot in a few words (intent, steps completed, when).

The summary is built only from the snapshot's ``intent`` (kept only if it looks like a label:
letters, digits, ``_-. `` and at most 64 characters) and ``stepsCompleted`` (a count), never
from free text such as ``lastAgentMessage``: free text is where PII hides.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from processor.core.resumption import resume_notice
from schemas.observation import ConversationObservation, ConversationState
from schemas.session import SessionState

__all__ = ["NOTICE_KEY", "SUMMARY_KEY", "WritebackRequest", "summary", "writeback_for"]

NOTICE_KEY = "chatstate.notice"
SUMMARY_KEY = "chatstate.summary"
_LABEL = re.compile(r"^[A-Za-z0-9_. -]{1,64}$")


@dataclass(frozen=True)
class WritebackRequest:
    """The value of a ``chat.agent-context`` record (key: the conversation id)."""

    conversation_id: uuid.UUID
    participant_id: str
    media: Literal["chat", "message"]
    persistent_session_id: uuid.UUID
    resumed_from_conversation_id: uuid.UUID
    attributes: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "conversationId": str(self.conversation_id),
            "participantId": self.participant_id,
            "media": self.media,
            "persistentSessionId": str(self.persistent_session_id),
            "resumedFromConversationId": str(self.resumed_from_conversation_id),
            "attributes": dict(self.attributes),
        }

    def record(self) -> tuple[bytes, bytes]:
        """(key, value) of the ``chat.agent-context`` record: keyed by conversation, so two
        requests for one conversation stay in order."""
        value = json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True).encode()
        return str(self.conversation_id).encode(), value

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> WritebackRequest:
        media = doc["media"]
        if media not in ("chat", "message"):
            raise ValueError("media must be chat or message")
        attrs = doc.get("attributes") or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
            raise ValueError("attributes must map strings to strings")
        return cls(
            uuid.UUID(doc["conversationId"]),
            str(doc["participantId"]),
            media,
            uuid.UUID(doc["persistentSessionId"]),
            uuid.UUID(doc["resumedFromConversationId"]),
            dict(attrs),
        )


def summary(snapshot: dict[str, Any] | None, at: datetime | None) -> str:
    """ "Last time: intent billing, 3 steps completed, 2026-01-01 12:00 UTC." (parts that are
    missing or not label-like are left out)."""
    parts: list[str] = []
    snap = snapshot or {}
    intent = snap.get("intent")
    if isinstance(intent, str) and _LABEL.match(intent):
        parts.append(f"intent {intent}")
    steps = snap.get("stepsCompleted")
    if isinstance(steps, int) and not isinstance(steps, bool) and 0 <= steps < 10_000:
        parts.append(f"{steps} step{'s' if steps != 1 else ''} completed")
    elif isinstance(steps, list):
        parts.append(f"{len(steps)} step{'s' if len(steps) != 1 else ''} completed")
    if at is not None:
        parts.append(at.strftime("%Y-%m-%d %H:%M UTC"))
    return ("Last time: " + ", ".join(parts) + ".") if parts else "No saved state yet."


def writeback_for(
    before: SessionState | None, after: SessionState, obs: ConversationObservation
) -> WritebackRequest | None:
    """The attributes to set for ``obs``'s conversation, or None: only the first time a
    conversation of a session with history is seen live, and only when the customer
    participant is known (the PATCH needs it)."""
    cid = obs.conversation_id
    rec = after.conversation(cid)
    if rec is None or rec.state is not ConversationState.LIVE:
        return None
    if before is not None and before.conversation(cid) is not None:
        return None  # not new: told already (or never to be told)
    if not obs.customer_participant_id:
        return None
    old = rec.resumed_from_conversation_id
    if old is None and before is not None:
        others = [c for c in before.conversations if c.conversation_id != cid]
        if others:
            old = max(
                others, key=lambda c: (c.first_seen_at, str(c.conversation_id))
            ).conversation_id
    if old is None:
        return None
    media: Literal["chat", "message"] = "chat" if obs.media_type == "chat" else "message"
    return WritebackRequest(
        conversation_id=cid,
        participant_id=obs.customer_participant_id,
        media=media,
        persistent_session_id=after.persistent_session_id,
        resumed_from_conversation_id=old,
        attributes={
            NOTICE_KEY: resume_notice(old),  # the same words the API's context answers
            SUMMARY_KEY: summary(after.latest_snapshot, after.latest_snapshot_at),
        },
    )
