"""A persistent session as chatstate keeps it, and as it is published on ``chat.sessions``."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from schemas.base import Emitted, WireModel
from schemas.observation import ConversationState

__all__ = [
    "PUBLISHED_CONVERSATIONS_MAX",
    "ConversationRecord",
    "LifecycleEvent",
    "SessionState",
    "SessionStatus",
]

# What is published and answered lists a session's latest conversations only: a session with a
# few thousand (a flood, a bot looping) would otherwise outgrow a Kafka record. The tables keep
# every row; ``conversationCount`` says how many there are.
PUBLISHED_CONVERSATIONS_MAX = 50


class SessionStatus(StrEnum):
    ACTIVE = "active"  # a Genesys conversation of the session is live
    IDLE = "idle"  # no live conversation; resumable
    EXPIRED = "expired"  # no interaction for the TTL: a return starts a new, tagged conversation
    ARCHIVED = "archived"  # older than retention: old conversation ids are not routable
    CLOSED = "closed"  # explicitly ended

    @property
    def resumable(self) -> bool:
        return self in (SessionStatus.ACTIVE, SessionStatus.IDLE)


class LifecycleEvent(StrEnum):
    """What a published version of a session records, beyond an ordinary update: reporting
    reads expiries and returns from ``chat.sessions`` without diffing states. A deletion
    (erasure, purge) is a tombstone: the key with no value."""

    ISSUED = "issued"  # the API issued it (published at once, before any conversation)
    EXPIRED = "expired"  # no interaction for the TTL
    ARCHIVED = "archived"  # older than retention
    CLOSED = "closed"  # explicitly ended
    RESUMED = "resumed"  # a new conversation after an expiry, tagged with the old one


class ConversationRecord(WireModel):
    conversation_id: uuid.UUID
    state: ConversationState
    media_type: str | None = None
    queue_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    disconnect_type: str | None = None
    resumed_from_conversation_id: uuid.UUID | None = None
    concurrent_with: uuid.UUID | None = None
    first_seen_at: datetime
    updated_at: datetime


class SessionState(Emitted):
    persistent_session_id: uuid.UUID
    status: SessionStatus
    version: int = 0
    customer_id_hashed: str | None = None
    previous_session_id: uuid.UUID | None = None
    current_conversation_id: uuid.UUID | None = None
    resumed_from_conversation_id: uuid.UUID | None = None
    conversations: list[ConversationRecord] = Field(default_factory=list)
    conversation_count: int | None = Field(
        default=None,
        description="How many conversations the session has had; ``conversations`` lists the "
        "latest of them (at most 50) in what chatstate publishes.",
    )
    latest_snapshot: dict[str, Any] | None = None
    latest_snapshot_at: datetime | None = None
    latest_snapshot_content_id: str | None = None  # a retried data action is recognised by it
    last_interaction_at: datetime | None = None
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    lifecycle_event: LifecycleEvent | None = Field(
        default=None,
        description="Set on the version a lifecycle event produced (issued, expired, archived, "
        "closed, resumed); null on ordinary updates.",
    )

    def published(self, max_conversations: int = PUBLISHED_CONVERSATIONS_MAX) -> SessionState:
        """The state as ``chat.sessions`` carries it: the latest conversations and a count."""
        latest = self.conversations[-max_conversations:] if max_conversations else []
        return self.model_copy(
            update={"conversations": latest, "conversation_count": len(self.conversations)}
        )

    def conversation(self, conversation_id: uuid.UUID) -> ConversationRecord | None:
        return next((c for c in self.conversations if c.conversation_id == conversation_id), None)
