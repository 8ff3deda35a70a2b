"""Which kind of Genesys notification a topic name announces: a body to read, or a skip.

Heartbeats, socket notices and topics chatstate does not track are skipped, never errors. The
kinds that are read each have a wire model in :mod:`schemas.genesys` that is their contract.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from schemas.genesys import ConversationEventBody, DetailEvent, MediaConversationEventBody
from schemas.observation import Skipped

__all__ = ["CONVERSATION", "DETAIL", "DETAIL_EVENTS", "MEDIA", "MODEL_OF", "classify"]

DETAIL_EVENTS = frozenset(
    {
        "customer.start", "customer.end", "acd.start", "acd.end", "user.start", "user.end",
        "acw", "attributes",
    }
)

# Kinds of body, and the wire model that is the contract for each.
CONVERSATION, MEDIA, DETAIL = "conversation", "media", "detail"
MODEL_OF: dict[str, type[BaseModel]] = {
    CONVERSATION: ConversationEventBody,
    MEDIA: MediaConversationEventBody,
    DETAIL: DetailEvent,
}

_CONVERSATION_TOPIC = re.compile(
    r"v2\.(?:routing\.queues|users)\.(?P<owner>[^.]+)\.conversations(?:\.(?P<media>chats|messages))?"
)
_DETAIL_PREFIX = "v2.detail.events.conversation."
_QUEUE_PREFIX = "v2.routing.queues."
# A queue's or a user's conversation topic recurs in every record about it: each is matched
# once (a regex fullmatch of ~80 characters). Bounded: emptied when full.
_CONVERSATION_TOPICS: dict[str, tuple[str, str | None, str | None]] = {}
_CONVERSATION_TOPICS_MAX = 4096
_HEARTBEAT = Skipped(reason="heartbeat", topic="channel.metadata")
_SOCKET_CLOSING = Skipped(reason="socket_closing", topic="v2.system.socket_closing")


def classify(topic: str) -> tuple[str | Skipped, str | None, str | None]:
    """(kind of body or a skip, the media variant or detail event, the queue the topic names)."""
    if topic == "channel.metadata":
        return _HEARTBEAT, None, None
    if topic == "v2.system.socket_closing":
        return _SOCKET_CLOSING, None, None
    if topic.startswith(_DETAIL_PREFIX):
        _, _, event = topic[len(_DETAIL_PREFIX) :].partition(".")
        if event in DETAIL_EVENTS:
            return DETAIL, event, None
    elif known := _CONVERSATION_TOPICS.get(topic):
        return known
    elif m := _CONVERSATION_TOPIC.fullmatch(topic):
        queue = m["owner"] if topic.startswith(_QUEUE_PREFIX) else None
        known = (CONVERSATION if m["media"] is None else MEDIA), m["media"], queue
        if len(_CONVERSATION_TOPICS) >= _CONVERSATION_TOPICS_MAX:
            _CONVERSATION_TOPICS.clear()
        _CONVERSATION_TOPICS[topic] = known
        return known
    return Skipped(reason="topic_not_tracked", topic=topic), None, None
