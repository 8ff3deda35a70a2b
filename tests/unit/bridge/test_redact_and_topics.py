"""What the bridge lets through to Kafka, and how topics are laid over channels."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.bridge.redact import redact_envelope
from processor.bridge.topics import chunks, conversation_id, queue_topics, takes_chat
from processor.core.normalise import parse_genesys
from schemas.observation import Accepted

PSID = str(uuid.uuid4())
CONV = str(uuid.uuid4())


def envelope(attributes: dict[str, str], **participant: object) -> dict[str, object]:
    return {
        "topicName": f"v2.routing.queues.{uuid.uuid4()}.conversations",
        "version": "2",
        "metadata": {"CorrelationId": str(uuid.uuid4())},
        "eventBody": {
            "id": CONV,
            "participants": [
                {
                    "id": str(uuid.uuid4()),
                    "purpose": "customer",
                    "attributes": attributes,
                    "connectedTime": "2026-01-01T10:00:00.000Z",
                    "chats": [{"id": str(uuid.uuid4()), "state": "connected"}],
                    **participant,
                }
            ],
        },
    }


def test_names_addresses_and_pii_in_attributes_go_ids_and_read_attributes_stay() -> None:
    env = envelope(
        {
            "context.persistentSessionId": PSID,
            "context.customerIdHashed": "ab" * 32,
            "resumedFromConversationId": CONV,
            "context.email": "jane.doe@example.com",
            "note": "card 4111 1111 1111 1111",
            "chatstate.notice": "Resuming from x",
        },
        name="Jane Doe",
        address="jane.doe@example.com",
        ani="+1 415 555 0100",
    )
    clean, found = redact_envelope(env)
    text = json.dumps(clean)
    for raw in ("Jane Doe", "jane.doe@example.com", "4111 1111 1111 1111", "555 0100"):
        assert raw not in text
    attrs = clean["eventBody"]["participants"][0]["attributes"]
    assert attrs["context.persistentSessionId"] == PSID
    assert attrs["context.customerIdHashed"] == "ab" * 32
    assert attrs["resumedFromConversationId"] == CONV
    assert attrs["chatstate.notice"] == "Resuming from x"
    assert {"name", "address", "email", "card_number"} <= set(found)
    result = parse_genesys(json.dumps(clean).encode())
    assert isinstance(result, Accepted)
    assert str(result.observation.persistent_session_id) == PSID


def test_a_clean_envelope_is_passed_as_it_is() -> None:
    env = envelope({"persistentSessionId": PSID})
    clean, found = redact_envelope(env)
    assert clean is env
    assert found == []


@given(st.lists(st.uuids().map(str), min_size=0, max_size=800, unique=True))
def test_topics_are_split_under_the_channel_limit_and_none_is_lost(queues: list[str]) -> None:
    topics = queue_topics(queues)
    assert len(topics) == 3 * len(queues)
    parts = chunks(topics)
    assert all(1 <= len(p) <= 1000 for p in parts)
    assert [t for p in parts for t in p] == topics


def test_topic_variants_and_queue_media() -> None:
    q = str(uuid.uuid4())
    assert queue_topics([q]) == [
        f"v2.routing.queues.{q}.conversations{v}" for v in ("", ".chats", ".messages")
    ]
    assert takes_chat({"mediaSettings": {"message": {}}})
    assert not takes_chat({"mediaSettings": {"call": {}, "email": {}}})
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        chunks(["a"], 1001)
    assert conversation_id({"eventBody": {"conversationId": "c"}}) == "c"
    assert conversation_id({"topicName": "channel.metadata", "eventBody": {"message": "x"}}) is None
