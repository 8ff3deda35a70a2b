"""Which topics are read and which skipped, and the EventBridge wrapping
(processor/core/genesys_envelope.py), through ``parse_genesys``."""

from __future__ import annotations

from typing import Any

import pytest

from processor.core import genesys_envelope
from processor.core.genesys_envelope import classify
from processor.core.normalise import parse_genesys
from tests.unit.core.genesys_records import (
    CID,
    QUEUE,
    detail,
    observe,
    raw,
)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}},
         "heartbeat"),
        ({"topicName": "v2.system.socket_closing", "eventBody": {}}, "socket_closing"),
        ({"topicName": "v2.users.u1.presence", "eventBody": {}}, "topic_not_tracked"),
        ({"topicName": f"v2.detail.events.conversation.{CID}.flow.start", "eventBody": {}},
         "topic_not_tracked"),
        ({"topicName": f"v2.routing.queues.{QUEUE}.conversations.calls", "eventBody": {}},
         "topic_not_tracked"),
    ],
)
def test_heartbeats_socket_notices_and_untracked_topics_are_skipped(doc: Any, reason: str) -> None:
    result = parse_genesys(raw(doc))
    assert result.kind == "skipped"
    assert result.reason == reason


def test_an_eventbridge_wrapped_detail_event_reads_like_the_plain_one() -> None:
    plain = detail("customer.start")
    wrapped = {"version": "0", "id": "evt-1", "detail-type": "v2.detail.events.customer.start",
               "source": "aws.partner/genesys.com/x", "detail": plain}
    assert observe(wrapped) == observe(plain)


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (f"v2.routing.queues.{QUEUE}.conversations", ("conversation", None, QUEUE)),
        (f"v2.routing.queues.{QUEUE}.conversations.chats", ("media", "chats", QUEUE)),
        ("v2.users.u1.conversations.messages", ("media", "messages", None)),
    ],
)
def test_a_known_topic_is_classified_alike_the_second_time(
    topic: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert classify(topic) == expected
    assert classify(topic) == expected  # from the cache of issue 14


def test_the_topic_cache_stays_bounded() -> None:
    for i in range(genesys_envelope._CONVERSATION_TOPICS_MAX + 10):
        assert classify(f"v2.users.u{i}.conversations") == ("conversation", None, None)
    assert len(genesys_envelope._CONVERSATION_TOPICS) <= genesys_envelope._CONVERSATION_TOPICS_MAX
