"""Which topics are read and which skipped, and the EventBridge wrapping
(processor/core/genesys_envelope.py), through ``parse_genesys``."""

from __future__ import annotations

from typing import Any

import pytest

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
