"""Genesys records for the normaliser's tests, built as Genesys writes them."""

from __future__ import annotations

import json
from typing import Any

from processor.core.normalise import parse_genesys
from schemas.observation import Accepted, ConversationObservation, ConversationState

__all__ = ["CID", "ENDED", "LIVE", "PSID", "QUEUE", "customer", "detail", "observe", "queue_event",
           "raw"]

CID = "0b4e7c8a-1111-4222-8333-444455556666"
PSID = "9f0c8f8e-7d6c-4b5a-9e8d-1c2b3a4f5e6d"
QUEUE = "6f1c5b1e-0000-4000-8000-000000000001"
LIVE, ENDED = ConversationState.LIVE, ConversationState.ENDED


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def queue_event(*participants: dict[str, Any], topic_suffix: str = "") -> dict[str, Any]:
    return {
        "topicName": f"v2.routing.queues.{QUEUE}.conversations{topic_suffix}",
        "version": "2",
        "eventBody": {"id": CID, "participants": list(participants)},
        "metadata": {"CorrelationId": "corr-1"},
    }


def customer(attrs: dict[str, Any] | None = None, **media: Any) -> dict[str, Any]:
    return {"id": "p-cust", "purpose": "customer", "attributes": attrs or {}, **media}


def detail(event: str, **body: Any) -> dict[str, Any]:
    return {
        "topicName": f"v2.detail.events.conversation.{CID}.{event}",
        "version": "2",
        "eventBody": {"eventTime": 1714557600123, "conversationId": CID,
                      "participantId": "p-1", "mediaType": "MESSAGE", **body},
    }


def observe(doc: Any) -> ConversationObservation:
    result = parse_genesys(raw(doc))
    assert isinstance(result, Accepted), result
    return result.observation
