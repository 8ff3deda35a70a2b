"""The normalised form of a Genesys conversation notification: what stage 1 hands to the
session logic, whatever topic or wrapper the event arrived in."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from schemas.base import WireModel
from schemas.dlq import DeadLetterReason

__all__ = [
    "Accepted",
    "ConversationObservation",
    "ConversationState",
    "ParseResult",
    "ParticipantObservation",
    "Rejected",
    "Skipped",
]


class ConversationState(StrEnum):
    """Genesys has many media states; for a session only two matter."""

    LIVE = "live"  # alerting, connected, dialing, contacting, offering, parked, ...
    ENDED = "ended"  # disconnected, terminated (or an *.end detail event)


class ParticipantObservation(WireModel):
    id: str
    purpose: str | None = None  # customer, agent, acd, workflow, ...
    state: ConversationState | None = None
    raw_state: str | None = None  # the Genesys state word, for diagnostics
    user_id: str | None = None
    queue_id: str | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    disconnect_type: str | None = None  # lower case


class ConversationObservation(WireModel):
    """One thing Genesys told us about one conversation."""

    conversation_id: uuid.UUID
    source_topic: str  # the Genesys topicName
    event: str | None = None  # detail events: customer.start, acd.end, attributes, ...
    correlation_id: str | None = None
    event_time: datetime | None = None  # when Genesys says it happened (UTC)
    state: ConversationState | None = None  # the customer's (else the conversation's) state
    media_type: str | None = None  # chat, message, ...
    queue_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    disconnect_type: str | None = None  # lower case: client, endpoint, inactivity, session.expired
    customer_participant_id: str | None = None
    participants: list[ParticipantObservation] = Field(default_factory=list)
    # From the customer's attributes (plain or ``context.``-prefixed key):
    persistent_session_id: uuid.UUID | None = None
    customer_id_hashed: str | None = None
    resumed_from_conversation_id: uuid.UUID | None = None
    pii_attribute_keys: list[str] = Field(default_factory=list)  # attributes that carried PII


class Accepted(WireModel):
    kind: Literal["accepted"] = "accepted"
    observation: ConversationObservation


class Skipped(WireModel):
    """Not an error: heartbeats, socket notices, topics that do not concern sessions."""

    kind: Literal["skipped"] = "skipped"
    reason: str  # e.g. "heartbeat", "topic not tracked: v2.users.x.presence"
    topic: str | None = None


class Rejected(WireModel):
    """Cannot be processed: goes to the dead-letter topic with this reason."""

    kind: Literal["rejected"] = "rejected"
    reason: DeadLetterReason  # the dead letter's reason code: metrics and the runbook use it
    detail: str = ""  # human-readable, never containing the record's values


ParseResult = Accepted | Skipped | Rejected
