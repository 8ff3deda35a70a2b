"""Contract tests with the official Genesys SDK as the oracle: payloads it builds and serialises
are accepted by our wire models, and the normaliser extracts the right ids and states."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.core.normalise import ENDED_STATES, LIVE_STATES, parse_genesys
from schemas.genesys import (
    ConversationEventBody,
    ConversationParticipant,
    DetailEvent,
    EntityRef,
    MediaConversationEventBody,
    MediaParticipant,
    MediaSession,
    NotificationEnvelope,
)
from schemas.observation import Accepted, ConversationState
from tests.unit.contracts.sdk_oracle import allowed_values, build, envelope, wire_names

CONVERSATION_BODIES = [  # (topic template, conversation class, participant class, media array)
    ("v2.routing.queues.{q}.conversations", "QueueConversationEventTopicConversation",
     "QueueConversationEventTopicParticipant", "QueueConversationEventTopicMessage", "messages"),
    ("v2.routing.queues.{q}.conversations", "QueueConversationEventTopicConversation",
     "QueueConversationEventTopicParticipant", "QueueConversationEventTopicChat", "chats"),
    ("v2.users.{q}.conversations", "ConversationEventTopicConversation",
     "ConversationEventTopicParticipant", "ConversationEventTopicMessage", "messages"),
]
MEDIA_BODIES = [  # (topic template, conversation class, participant class, media type)
    ("v2.routing.queues.{q}.conversations.chats", "QueueConversationChatEventTopicChatConversation",
     "QueueConversationChatEventTopicChatMediaParticipant", "chat"),
    ("v2.routing.queues.{q}.conversations.messages",
     "QueueConversationMessageEventTopicMessageConversation",
     "QueueConversationMessageEventTopicMessageMediaParticipant", "message"),
    ("v2.users.{q}.conversations.chats", "ConversationChatEventTopicChatConversation",
     "ConversationChatEventTopicChatMediaParticipant", "chat"),
    ("v2.users.{q}.conversations.messages", "ConversationMessageEventTopicMessageConversation",
     "ConversationMessageEventTopicMessageMediaParticipant", "message"),
]
DETAIL_EVENTS = {
    "customer.start": "CustomerStartDetailEventTopicCustomerStartEvent",
    "customer.end": "CustomerEndDetailEventTopicCustomerEndEvent",
    "acd.start": "AcdStartDetailEventTopicAcdStartEvent",
    "acd.end": "AcdEndDetailEventTopicAcdEndEvent",
    "user.start": "UserStartDetailEventTopicUserStartEvent",
    "user.end": "UserEndDetailEventTopicUserEndEvent",
    "acw": "AcwDetailEventTopicAfterCallWorkEvent",
    "attributes": "AttributeDetailEventTopicAttributeUpdateEvent",
}


_SDK_MEDIA_ARRAYS = ("calls", "callbacks", "chats", "cobrowsesessions", "emails", "messages",
                     "internal_messages", "screen_monitorings", "screenshares",
                     "social_expressions", "videos")


def _only(array: str, sessions: list[object]) -> dict[str, object]:
    """A participant on one medium, as Genesys sends it (the builder fills every array)."""
    return {**{key: [] for key in _SDK_MEDIA_ARRAYS}, array: sessions}


def _accepted(env: dict[str, object]) -> Accepted:
    result = parse_genesys(json.dumps(env).encode())
    assert isinstance(result, Accepted), result
    return result


# ---- our wire names are the SDK's ---------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "sdk_classes"),
    [
        (ConversationEventBody, ["QueueConversationEventTopicConversation",
                                 "ConversationEventTopicConversation"]),
        (ConversationParticipant, ["QueueConversationEventTopicParticipant",
                                   "ConversationEventTopicParticipant"]),
        (MediaSession, ["QueueConversationEventTopicChat", "QueueConversationEventTopicMessage"]),
        (MediaConversationEventBody, ["QueueConversationChatEventTopicChatConversation"]),
        (MediaParticipant, ["QueueConversationChatEventTopicChatMediaParticipant",
                            "QueueConversationMessageEventTopicMessageMediaParticipant"]),
        (EntityRef, ["QueueConversationChatEventTopicUriReference"]),
        (DetailEvent, list(DETAIL_EVENTS.values())),
    ],
)
def test_every_field_we_read_has_the_sdk_wire_name(model: type, sdk_classes: list[str]) -> None:
    # One model serves a family (chat and message sessions, all detail events): each member
    # has a subset of its fields, and every field is some member's.
    ours = {f.alias for f in model.model_fields.values()}
    theirs: set[str] = set().union(*(wire_names(c) for c in sdk_classes))
    assert ours <= theirs, sorted(ours - theirs)


def test_the_media_arrays_we_read_are_the_sdk_participant_arrays() -> None:
    from schemas.genesys import MEDIA_ARRAYS

    assert set(MEDIA_ARRAYS) <= wire_names("QueueConversationEventTopicParticipant")


def test_every_media_state_the_sdk_knows_is_classified_on_purpose() -> None:
    states = set(allowed_values("QueueConversationChatEventTopicChatMediaParticipant", "state"))
    states |= set(allowed_values("QueueConversationEventTopicMessage", "state"))
    unclassified = states - LIVE_STATES - ENDED_STATES
    assert unclassified == {"none"}, "a new Genesys state needs a decision: live or ended?"


# ---- conversation topics built by the SDK --------------------------------------------------


@pytest.mark.parametrize(("topic", "conv_cls", "part_cls", "media_cls", "array"),
                         CONVERSATION_BODIES)
@given(data=st.data())
@settings(max_examples=15, deadline=None)
def test_sdk_conversation_bodies_yield_ids_states_and_session(
    topic: str, conv_cls: str, part_cls: str, media_cls: str, array: str, data: st.DataObject
) -> None:
    customer_state = data.draw(st.sampled_from(allowed_values(media_cls, "state")))
    cid, psid, queue = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())
    session = build(media_cls, 1, state=customer_state, disconnect_type="client")
    customer = build(part_cls, 1, purpose="customer", **_only(array, [session]),
                     attributes={"persistentSessionId": str(psid), "journeyStage": "checkout"})
    acd_leg = build(media_cls, 1, state="disconnected", disconnect_type="transfer")
    acd = build(part_cls, 1, purpose="acd", queue_id=queue, **_only(array, [acd_leg]),
                attributes={})
    body = build(conv_cls, 0, id=str(cid), participants=[customer, acd])
    env = envelope(topic.format(q=queue), body)

    NotificationEnvelope.model_validate(env)
    typed = ConversationEventBody.model_validate(env["eventBody"])
    assert typed.participants
    assert typed.participants[0].attributes == {"persistentSessionId": str(psid),
                                                "journeyStage": "checkout"}
    obs = _accepted(env).observation
    assert obs.conversation_id == cid
    assert obs.customer_participant_id == customer.id
    assert obs.persistent_session_id == psid
    assert obs.queue_id == queue
    assert obs.media_type == {"messages": "message", "chats": "chat"}[array]
    expected = (ConversationState.LIVE if customer_state in LIVE_STATES
                else ConversationState.ENDED if customer_state in ENDED_STATES else None)
    assert obs.state is expected
    assert obs.participants[1].state is ConversationState.ENDED
    assert obs.participants[1].disconnect_type == "transfer"
    if expected is ConversationState.ENDED:
        assert obs.disconnect_type == "client"


@pytest.mark.parametrize(("topic", "conv_cls", "part_cls", "media"), MEDIA_BODIES)
@given(data=st.data())
@settings(max_examples=15, deadline=None)
def test_sdk_media_variant_bodies_yield_ids_states_and_session(
    topic: str, conv_cls: str, part_cls: str, media: str, data: st.DataObject
) -> None:
    customer_state = data.draw(st.sampled_from(allowed_values(part_cls, "state")))
    cid, psid, queue = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())
    ref_cls = part_cls.split("EventTopic")[0] + "EventTopicUriReference"
    customer = build(part_cls, 1, purpose="customer", state=customer_state,
                     disconnect_type="session.expired", queue=None,
                     attributes={"context.persistentSessionId": str(psid)})
    agent = build(part_cls, 1, purpose="agent", state="connected",
                  queue=build(ref_cls, 2, id=queue), attributes={})
    body = build(conv_cls, 0, id=str(cid), participants=[customer, agent])
    env = envelope(topic.format(q=str(uuid.uuid4())), body)

    MediaConversationEventBody.model_validate(env["eventBody"])
    obs = _accepted(env).observation
    assert obs.conversation_id == cid
    assert obs.customer_participant_id == customer.id
    assert obs.persistent_session_id == psid
    assert obs.queue_id == queue
    assert obs.media_type == media
    assert obs.started_at is not None
    if customer_state in ENDED_STATES:
        assert obs.state is ConversationState.ENDED
        assert obs.disconnect_type == "session.expired"
    elif customer_state in LIVE_STATES:
        assert obs.state is ConversationState.LIVE


# ---- detail events built by the SDK --------------------------------------------------------


@pytest.mark.parametrize(("event", "cls"), DETAIL_EVENTS.items())
def test_sdk_detail_events_yield_ids_times_and_states(event: str, cls: str) -> None:
    cid, pid, psid = uuid.uuid4(), str(uuid.uuid4()), uuid.uuid4()
    extra: dict[str, object] = {}
    if event == "attributes":
        extra["attributes"] = {"persistentSessionId": str(psid)}
    if event.endswith(".end"):
        assert "SESSION_EXPIRED" in allowed_values(cls, "disconnect_type")
        extra["disconnect_type"] = "SESSION_EXPIRED"
    body = build(cls, 0, conversation_id=str(cid), participant_id=pid, **extra)
    env = envelope(f"v2.detail.events.conversation.{cid}.{event}", body)

    DetailEvent.model_validate(env["eventBody"])
    obs = _accepted(env).observation
    assert obs.conversation_id == cid
    assert obs.event == event
    assert obs.event_time is not None
    assert obs.event_time.tzinfo is not None
    assert obs.participants[0].id == pid
    leg, _, phase = event.partition(".")
    want_participant = {"start": ConversationState.LIVE, "end": ConversationState.ENDED}.get(phase)
    assert obs.participants[0].state is want_participant
    if leg == "customer":
        assert obs.customer_participant_id == pid
        assert obs.state is want_participant
    elif phase == "start":
        assert obs.state is ConversationState.LIVE
    else:
        assert obs.state is None  # acd.end, user.end, acw, attributes change no conversation
    if phase == "end":  # the detail events' SESSION_EXPIRED in the conversation topics' words
        assert obs.participants[0].disconnect_type == "session.expired"
    if event == "attributes":
        assert obs.persistent_session_id == psid
