"""Builders for Genesys notification envelopes exactly as the bridge puts them on Kafka.

Why hand-built dicts and not the SDK's models: the simulator must produce the *wire* (camelCase
names, ``metadata.CorrelationId`` with a capital C, epoch-ms detail times, ISO-8601 UTC with
milliseconds elsewhere), including the quirks a model would normalise away. The shapes follow
``../shared/DESIGN.md`` ("Facts about Genesys") and ``schemas/genesys.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "CustomerContext",
    "Leg",
    "detail_event",
    "eventbridge",
    "heartbeat",
    "iso",
    "queue_conversation",
]

Variant = Literal["messages", "chats", "plain"]


def iso(t: datetime) -> str:
    """Genesys's time format: ISO-8601 UTC with milliseconds and a ``Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def epoch_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _envelope(topic: str, body: dict[str, Any], correlation: uuid.UUID) -> dict[str, Any]:
    return {
        "topicName": topic,
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": str(correlation)},
    }


@dataclass(frozen=True)
class CustomerContext:
    """What reaches the customer participant's attributes. Web Messaging custom attributes are
    plain keys; legacy web chat v2 prefixes form/user data with ``context.``."""

    persistent_session_id: uuid.UUID | None
    customer_id_hashed: str
    legacy: bool
    extra: tuple[tuple[str, str], ...] = ()

    def attributes(self) -> dict[str, str]:
        prefix = "context." if self.legacy else ""
        out: dict[str, str] = {f"{prefix}customerIdHashed": self.customer_id_hashed}
        if self.persistent_session_id is not None:
            out[f"{prefix}persistentSessionId"] = str(self.persistent_session_id)
        for k, v in self.extra:
            out[f"{prefix}{k}"] = v
        return out


@dataclass(frozen=True)
class Leg:
    """One participant at the moment of the notification."""

    participant_id: uuid.UUID
    purpose: str  # customer, acd, agent
    state: str  # alerting, connected, disconnected, terminated
    start: datetime
    connected: datetime | None = None
    end: datetime | None = None
    disconnect_type: str | None = None  # client, endpoint, transfer, inactivity, ...
    user_id: uuid.UUID | None = None
    queue_id: uuid.UUID | None = None
    attributes: dict[str, str] | None = None


def _media_participant(leg: Leg, media: str) -> dict[str, Any]:
    """``.messages`` / ``.chats`` variants: state on the participant, queue and user as refs."""
    p: dict[str, Any] = {
        "id": str(leg.participant_id),
        "purpose": leg.purpose,
        "state": leg.state,
        "initialState": "alerting" if leg.purpose == "agent" else "connected",
        "direction": "inbound",
        "startTime": iso(leg.start),
        "wrapupRequired": leg.purpose == "agent",
    }
    if leg.connected:
        p["connectedTime"] = iso(leg.connected)
    if leg.end:
        p["endTime"] = iso(leg.end)
    if leg.disconnect_type:
        p["disconnectType"] = leg.disconnect_type
    if leg.queue_id:
        p["queue"] = {"id": str(leg.queue_id)}
    if leg.user_id:
        p["user"] = {"id": str(leg.user_id)}
    if leg.attributes is not None:
        p["attributes"] = leg.attributes
    if media == "messages":
        p["messages"] = [{"messageStatus": "delivered", "messageTime": iso(leg.start)}]
    return p


def _plain_participant(leg: Leg, media_array: str, media_id: uuid.UUID) -> dict[str, Any]:
    """``.conversations`` (no suffix): the state lives in the participant's media arrays."""
    session: dict[str, Any] = {
        "id": str(media_id),
        "state": leg.state,
        "provider": "PureCloud Webchat v2" if media_array == "chats" else "PureCloud Messaging",
    }
    if media_array == "messages":
        session["direction"] = "inbound"  # the chat media model has no direction
    if leg.connected:
        session["connectedTime"] = iso(leg.connected)
    if leg.end:
        session["disconnectedTime"] = iso(leg.end)
    if leg.disconnect_type:
        session["disconnectType"] = leg.disconnect_type
    p: dict[str, Any] = {
        "id": str(leg.participant_id),
        "purpose": leg.purpose,
        "connectedTime": iso(leg.connected or leg.start),
        "attributes": leg.attributes or {},
        media_array: [session],
    }
    if leg.end:
        p["endTime"] = iso(leg.end)
    if leg.queue_id:
        p["queueId"] = str(leg.queue_id)
    if leg.user_id:
        p["userId"] = str(leg.user_id)
    return p


def queue_conversation(
    queue_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    legs: list[Leg],
    variant: Variant,
    media_array: str,
    correlation: uuid.UUID,
) -> dict[str, Any]:
    """``v2.routing.queues.{id}.conversations[.messages|.chats]``. ``conversation_id=None``
    builds the malformed "no id" body the pipeline must dead-letter."""
    if variant == "plain":
        topic = f"v2.routing.queues.{queue_id}.conversations"
        parts = [
            _plain_participant(leg, media_array, uuid.uuid5(leg.participant_id, "media"))
            for leg in legs
        ]
    else:
        topic = f"v2.routing.queues.{queue_id}.conversations.{variant}"
        parts = [_media_participant(leg, variant) for leg in legs]
    body: dict[str, Any] = {"participants": parts}
    if conversation_id is not None:
        body["id"] = str(conversation_id)
    return _envelope(topic, body, correlation)


def detail_event(
    conversation_id: uuid.UUID,
    event: str,
    at: datetime,
    participant_id: uuid.UUID,
    media_type: str,
    correlation: uuid.UUID,
    *,
    disconnect_type: str | None = None,
    queue_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """``v2.detail.events.conversation.{id}.{event}``: flat, epoch-ms ``eventTime``; ``*.end``
    carries an upper-case ``disconnectType``."""
    body: dict[str, Any] = {
        "eventTime": epoch_ms(at),
        "conversationId": str(conversation_id),
        "participantId": str(participant_id),
        "sessionId": str(session_id or uuid.uuid5(participant_id, "session")),
        "mediaType": media_type.upper(),
        "messageType": "WEBMESSAGING" if media_type == "message" else None,
        "direction": "INBOUND",
    }
    if body["messageType"] is None:
        del body["messageType"]
    if disconnect_type:
        body["disconnectType"] = disconnect_type.upper()
    if queue_id:
        body["queueId"] = str(queue_id)
    if user_id:
        body["userId"] = str(user_id)
    topic = f"v2.detail.events.conversation.{conversation_id}.{event}"
    return _envelope(topic, body, correlation)


def eventbridge(envelope: dict[str, Any], event_id: uuid.UUID, at: datetime) -> dict[str, Any]:
    """The same envelope as the AWS EventBridge integration delivers it."""
    return {
        "version": "0",
        "id": str(event_id),
        "detail-type": envelope["topicName"],
        "source": "aws.partner/genesys.com/cloud/00000000-0000-4000-8000-000000000000/chatstate",
        "account": "000000000000",
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": envelope,
    }


def heartbeat(correlation: uuid.UUID) -> dict[str, Any]:
    return {
        "topicName": "channel.metadata",
        "eventBody": {"message": "WebSocket Heartbeat"},
        "metadata": {"CorrelationId": str(correlation)},
    }
