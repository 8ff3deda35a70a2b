"""Every field name the simulator writes is one the official Genesys SDK knows for that topic
(``attribute_map``): the simulator must speak the wire, not our idea of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import PureCloudPlatformClientV2.models as models

from processor.sim import SimConfig, Simulation

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _names(model: str) -> set[str]:
    return set(getattr(models, model)().attribute_map.values())


DETAIL = {
    "customer.start": "CustomerStartDetailEventTopicCustomerStartEvent",
    "customer.end": "CustomerEndDetailEventTopicCustomerEndEvent",
    "acd.start": "AcdStartDetailEventTopicAcdStartEvent",
    "acd.end": "AcdEndDetailEventTopicAcdEndEvent",
    "user.start": "UserStartDetailEventTopicUserStartEvent",
    "user.end": "UserEndDetailEventTopicUserEndEvent",
    "acw": "AcwDetailEventTopicAfterCallWorkEvent",
}


def _envelopes() -> list[dict[str, Any]]:
    sim = Simulation(SimConfig(start=START, sessions=150, eventbridge_share=0.0))
    out = []
    for r in sim.records():
        if r.kind == "genesys":
            out.append(json.loads(r.value))
    return out


def test_field_names_match_the_sdk() -> None:
    conversation = _names("QueueConversationEventTopicConversation")
    plain_participant = _names("QueueConversationEventTopicParticipant")
    media_arrays = {
        "chats": _names("QueueConversationEventTopicChat"),
        "messages": _names("QueueConversationEventTopicMessage"),
    }
    media_participant = {
        "messages": _names("QueueConversationMessageEventTopicMessageMediaParticipant"),
        "chats": _names("QueueConversationChatEventTopicChatMediaParticipant"),
    }
    message_details = _names("QueueConversationMessageEventTopicMessageDetails")
    checked = 0
    for env in _envelopes():
        topic, body = env["topicName"], env["eventBody"]
        if topic.startswith("v2.detail.events.conversation."):
            event = topic.split(".", 5)[5]
            assert set(body) <= _names(DETAIL[event]), (event, set(body) - _names(DETAIL[event]))
        else:
            assert set(body) <= conversation
            variant = topic.rsplit(".", 1)[1]
            for p in body["participants"]:
                if variant == "conversations":
                    assert set(p) <= plain_participant, set(p) - plain_participant
                    for array in ("chats", "messages"):
                        for media in p.get(array, []):
                            assert set(media) <= media_arrays[array]
                else:
                    assert set(p) <= media_participant[variant], set(p) - media_participant[variant]
                    for m in p.get("messages", []):
                        assert set(m) <= message_details
        checked += 1
    assert checked > 1000
