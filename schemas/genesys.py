"""The raw shapes Genesys Cloud sends, as far as chatstate reads them.

Times are ISO-8601 as Genesys writes them (UTC, ``Z``); a naive time in a hand-made capture is
taken as UTC by the normaliser rather than here, because a per-field validator would cost a
fifth of the parse budget on every record.

These models describe the wire, not our domain: field names are Genesys's own (checked against
the official SDK's ``attribute_map``), every field is optional unless a record is useless without
it, and unknown fields are ignored, because Genesys adds fields without notice and a new field
must never stop the pipeline. :mod:`processor.core.normalise` turns them into
:class:`schemas.observation.ConversationObservation`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "MEDIA_ARRAYS",
    "AttributeValue",
    "ConversationEventBody",
    "ConversationParticipant",
    "DetailEvent",
    "EntityRef",
    "EventBridgeEnvelope",
    "EventBridgeEvent",
    "MediaConversationEventBody",
    "MediaParticipant",
    "MediaSession",
    "Notification",
    "NotificationEnvelope",
    "NotificationMetadata",
]

MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: anything later is not a time


AttributeValue = str | int | float | bool | None
"""Participant attributes are string→string in Genesys; a capture edited by hand may hold other
scalars, which are read as text rather than failing the record."""


class GenesysModel(BaseModel):
    """camelCase wire names; unknown fields ignored so a new Genesys field is never fatal."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class NotificationMetadata(GenesysModel):
    # Capital C on the wire, unlike every other field.
    correlation_id: str | None = Field(default=None, alias="CorrelationId")


BodyT = TypeVar("BodyT")


class Notification(GenesysModel, Generic[BodyT]):
    """What every notification channel delivers: the topic, and a body whose shape it names.

    Generic in the body so the normaliser can parse envelope and typed body in one pass over
    the bytes once it knows the topic; :data:`NotificationEnvelope` is the untyped form."""

    topic_name: str = Field(min_length=1)
    version: str | int | None = None  # "2" on the wire; a number is read, not refused
    event_body: BodyT
    metadata: NotificationMetadata | None = None


class EventBridgeEvent(BaseModel, Generic[BodyT]):
    """The same envelope as AWS EventBridge delivers it: wrapped in ``detail``."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    detail_type: str | None = Field(default=None, alias="detail-type")
    source: str | None = None
    id: str | None = None
    time: str | None = None
    detail: Notification[BodyT]


class EntityRef(GenesysModel):
    """``{"id": ..., "name": ...}`` as the ``.chats``/``.messages`` variants reference queues."""

    id: str | None = None


class MediaSession(GenesysModel):
    """One entry of a participant's per-media array (``chats``, ``messages``, ``calls``, ...).

    In the ``.messages`` topic variant the participant's ``messages`` array holds message
    details instead; they fit this model with every field empty, which is harmless."""

    id: str | None = None
    state: str | None = None
    initial_state: str | None = None
    direction: str | None = None
    disconnect_type: str | None = None
    connected_time: datetime | None = None
    disconnected_time: datetime | None = None


MEDIA_ARRAYS: dict[str, str] = {
    # wire name of the per-media array -> media type as the detail events spell it (lower case)
    "chats": "chat",
    "messages": "message",
    "calls": "voice",
    "callbacks": "callback",
    "emails": "email",
    "cobrowsesessions": "cobrowse",
    "videos": "video",
    "screenshares": "screenshare",
    "socialExpressions": "socialexpression",
    "internalMessages": "internalmessage",
}


class ConversationParticipant(GenesysModel):
    """A participant of ``v2.routing.queues.{id}.conversations`` / ``v2.users.{id}.conversations``:
    no state of its own; the state lives in its media arrays."""

    id: str | None = None
    purpose: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    connected_time: datetime | None = None
    end_time: datetime | None = None
    attributes: dict[str, AttributeValue] | None = None
    chats: list[MediaSession] | None = None
    messages: list[MediaSession] | None = None
    calls: list[MediaSession] | None = None
    callbacks: list[MediaSession] | None = None
    emails: list[MediaSession] | None = None
    cobrowsesessions: list[MediaSession] | None = None
    videos: list[MediaSession] | None = None
    screenshares: list[MediaSession] | None = None
    social_expressions: list[MediaSession] | None = None
    internal_messages: list[MediaSession] | None = None


class MediaParticipant(GenesysModel):
    """A participant of the ``.chats`` / ``.messages`` topic variants: state on the participant,
    queue and user as references."""

    id: str | None = None
    purpose: str | None = None
    state: str | None = None
    initial_state: str | None = None
    direction: str | None = None
    disconnect_type: str | None = None
    start_time: datetime | None = None
    connected_time: datetime | None = None
    end_time: datetime | None = None
    queue: EntityRef | None = None
    user: EntityRef | None = None
    attributes: dict[str, AttributeValue] | None = None


class ConversationEventBody(GenesysModel):
    id: str | None = None
    participants: list[ConversationParticipant] | None = None


class MediaConversationEventBody(GenesysModel):
    id: str | None = None
    participants: list[MediaParticipant] | None = None


class DetailEvent(GenesysModel):
    """``v2.detail.events.conversation.{id}.{event}``: flat, one participant, epoch-ms time.

    One model serves every event of the family: they share the fields chatstate reads, and
    ``disconnectType`` (``*.end``, upper case) and ``attributes`` (``.attributes``) are simply
    absent elsewhere."""

    event_time: int | None = Field(default=None, ge=0, le=MAX_EPOCH_MS)
    conversation_id: str | None = None
    participant_id: str | None = None
    session_id: str | None = None
    media_type: str | None = None
    message_type: str | None = None
    direction: str | None = None
    disconnect_type: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    attributes: dict[str, AttributeValue] | None = None


NotificationEnvelope = Notification[dict[str, Any]]
"""Any notification, body unread: the contract of ``genesys.conversations`` values."""
EventBridgeEnvelope = EventBridgeEvent[dict[str, Any]]
