"""The endpoints chatstate calls, with the SDK's paths and body shapes
(``NotificationsApi``, ``AnalyticsApi``, ``ConversationsApi``, ``RoutingApi`` of
``purecloudplatformclientv2``; ``tests/unit/genesys/test_api_paths.py`` compares them).

Permissions the OAuth client needs (README, "Pointing the bridge at an org"):
``notifications`` (channels), ``routing:queue:view`` (queues, and the queue conversation topics),
``analytics:conversationDetail:view`` (backfill), ``conversation:communication:view`` (GET a
conversation), ``conversation:participant:attributesEdit`` (write-back).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from processor.genesys.client import GenesysClient

__all__ = ["GenesysApi", "Media", "interval"]

Media = Literal["chat", "message"]

CHANNELS = "/api/v2/notifications/channels"
SUBSCRIPTIONS = "/api/v2/notifications/channels/{channelId}/subscriptions"
DETAILS_QUERY = "/api/v2/analytics/conversations/details/query"
CONVERSATION = "/api/v2/conversations/{conversationId}"
# Web Messaging has its own route; legacy web chat uses the generic participant route (the
# chat-specific one is gone from current SDKs along with the rest of legacy chat).
ATTRIBUTES = {
    "message": "/api/v2/conversations/messages/{conversationId}/participants/{participantId}"
    "/attributes",
    "chat": "/api/v2/conversations/{conversationId}/participants/{participantId}/attributes",
}
QUEUES = "/api/v2/routing/queues"


def _path(template: str, **ids: str) -> str:
    for name, value in ids.items():
        template = template.replace("{" + name + "}", quote(value, safe=""))
    return template


def interval(start: datetime, end: datetime) -> str:
    """An ISO-8601 interval as the analytics API takes it (UTC, ms, ``Z``)."""

    def z(t: datetime) -> str:
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    return f"{z(start)}/{z(end)}"


class GenesysApi:
    def __init__(self, client: GenesysClient) -> None:
        self.client = client

    async def create_channel(self) -> dict[str, Any]:
        """``{"id", "connectUri", "expires"}``."""
        return dict(await self.client.request("POST", CHANNELS) or {})

    async def set_subscriptions(self, channel_id: str, topics: Sequence[str]) -> dict[str, Any]:
        """Replace the channel's topics (PUT: idempotent, so a retried call cannot add twice)."""
        body = [{"id": t} for t in topics]
        path = _path(SUBSCRIPTIONS, channelId=channel_id)
        return dict(await self.client.request("PUT", path, json=body) or {})

    async def queues(self, page_size: int = 100) -> list[dict[str, Any]]:
        """Every queue of the org, all pages."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self.client.request(
                "GET", QUEUES, params={"pageSize": page_size, "pageNumber": page}
            )
            entities = list((body or {}).get("entities") or [])
            out.extend(entities)
            if not entities or page >= int((body or {}).get("pageCount") or page):
                return out
            page += 1

    async def conversations_in(
        self, start: datetime, end: datetime, queue_ids: Sequence[str], page_size: int = 100
    ) -> list[dict[str, Any]]:
        """Conversations of ``queue_ids`` in the interval (analytics details query, all pages):
        ``conversationId``, ``conversationStart``, ``conversationEnd`` (absent while live)."""
        predicates = [{"dimension": "queueId", "value": q} for q in queue_ids]
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = {
                "interval": interval(start, end),
                "order": "asc",
                "orderBy": "conversationStart",
                "segmentFilters": [{"type": "or", "predicates": predicates}],
                "paging": {"pageSize": page_size, "pageNumber": page},
            }
            resp = await self.client.request("POST", DETAILS_QUERY, json=body) or {}
            found = list(resp.get("conversations") or [])
            out.extend(found)
            if len(found) < page_size or len(out) >= int(resp.get("totalHits") or 0):
                return out
            page += 1

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        path = _path(CONVERSATION, conversationId=conversation_id)
        return dict(await self.client.request("GET", path) or {})

    async def set_participant_attributes(
        self, media: Media, conversation_id: str, participant_id: str, attributes: dict[str, str]
    ) -> None:
        """PATCH merges: keys not named keep their values."""
        path = _path(
            ATTRIBUTES[media], conversationId=conversation_id, participantId=participant_id
        )
        await self.client.request("PATCH", path, json={"attributes": attributes})
