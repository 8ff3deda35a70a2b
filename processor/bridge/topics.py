"""Which notification topics the bridge subscribes, and how they are split over channels."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["MAX_TOPICS_PER_CHANNEL", "chunks", "conversation_id", "queue_topics", "takes_chat"]

MAX_TOPICS_PER_CHANNEL = 1000  # Genesys's limit per channel
_VARIANTS = ("", ".chats", ".messages")


def queue_topics(queue_ids: Iterable[str]) -> list[str]:
    """The conversation topics of each queue: the plain one and the ``.chats``/``.messages``
    variants (legacy web chat and Web Messaging), sorted so a set of queues always maps to the
    same channels."""
    return sorted(
        f"v2.routing.queues.{q}.conversations{v}" for q in set(queue_ids) for v in _VARIANTS
    )


def chunks(topics: Sequence[str], size: int = MAX_TOPICS_PER_CHANNEL) -> list[list[str]]:
    if not 1 <= size <= MAX_TOPICS_PER_CHANNEL:
        raise ValueError(f"a channel takes 1..{MAX_TOPICS_PER_CHANNEL} topics")
    return [list(topics[i : i + size]) for i in range(0, len(topics), size)]


def takes_chat(queue: dict[str, Any]) -> bool:
    """A queue that routes legacy web chats or Web Messaging (its media settings name them)."""
    media = queue.get("mediaSettings") or {}
    return any(k in media for k in ("chat", "message"))


def conversation_id(envelope: dict[str, Any]) -> str | None:
    """The record key: the conversation the notification is about."""
    body = envelope.get("eventBody")
    if not isinstance(body, dict):
        return None
    value = body.get("id") or body.get("conversationId")
    return str(value) if value else None
