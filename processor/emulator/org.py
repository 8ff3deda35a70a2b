"""The emulated org's state: OAuth clients and tokens, queues, conversations (as GET
/api/v2/conversations/{id} returns them), notification channels with their sockets, the
attribute PATCHes it received, and the misbehaviour it was asked for.

Conversation times for analytics are wall-clock (when the emulator first and last saw them):
the simulator's bodies carry *simulated* times, but a bridge's gaps are wall-clock windows.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Channel", "Faults", "Org", "Patch", "to_conversation"]

Send = Callable[[str], Awaitable[None]]


@dataclass
class Faults:
    """Misbehaviour on request (``POST /emulator/faults``)."""

    rate_limited: int = 0  # the next N API requests answer 429
    retry_after_s: float = 1.0
    stall_s: float = 0.0  # every API request waits this long first
    stall_requests: int = 0  # ... for the next N requests
    sockets_down_until: float = 0.0  # monotonic: websocket connections refused until then


@dataclass
class Channel:
    id: str
    created: float
    expires_at: float
    token_expires_at: float = float("inf")  # a channel stops with the token that created it
    topics: set[str] = field(default_factory=set)
    sockets: dict[int, Send] = field(default_factory=dict)
    closers: dict[int, Callable[[], Awaitable[None]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Patch:
    media: str
    conversation_id: str
    participant_id: str
    attributes: dict[str, str]
    at: float


@dataclass
class _Conv:
    body: dict[str, Any]
    queue_id: str
    first_seen: datetime
    ended_at: datetime | None = None


def _media_to_plain(p: dict[str, Any], array: str) -> dict[str, Any]:
    """A ``.chats``/``.messages`` participant as the REST conversation shows it."""
    session: dict[str, Any] = {
        "id": str(uuid.uuid5(uuid.UUID(p["id"]), "media")),
        "state": p.get("state"),
    }
    for src, dst in (
        ("connectedTime", "connectedTime"),
        ("endTime", "disconnectedTime"),
        ("disconnectType", "disconnectType"),
    ):
        if p.get(src):
            session[dst] = p[src]
    out: dict[str, Any] = {
        "id": p["id"],
        "purpose": p.get("purpose"),
        "connectedTime": p.get("connectedTime") or p.get("startTime"),
        "attributes": dict(p.get("attributes") or {}),
        array: [session],
    }
    if p.get("endTime"):
        out["endTime"] = p["endTime"]
    if (p.get("queue") or {}).get("id"):
        out["queueId"] = p["queue"]["id"]
    if (p.get("user") or {}).get("id"):
        out["userId"] = p["user"]["id"]
    return out


def to_conversation(topic: str, body: dict[str, Any]) -> dict[str, Any]:
    """A queue notification's body in the REST ``Conversation`` shape (the plain variant)."""
    if topic.endswith(".chats") or topic.endswith(".messages"):
        array = "chats" if topic.endswith(".chats") else "messages"
        parts = [_media_to_plain(p, array) for p in body.get("participants") or []]
        return {"id": body.get("id"), "participants": parts}
    return {"id": body.get("id"), "participants": list(body.get("participants") or [])}


class Org:
    def __init__(
        self,
        client_id: str = "emulator-client",
        client_secret: str = "emulator-secret",  # noqa: S107 - a test double's fixed secret
        *,
        token_ttl_s: float = 86_400.0,
        channel_ttl_s: float = 86_400.0,
        heartbeat_s: float = 30.0,
        rate_per_min: int = 300,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl_s, self.channel_ttl_s = token_ttl_s, channel_ttl_s
        self.heartbeat_s, self.rate_per_min = heartbeat_s, rate_per_min
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.queues: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, _Conv] = {}
        self.channels: dict[str, Channel] = {}
        self.patches: list[Patch] = []
        self.faults = Faults()
        self.requests: list[tuple[float, str, str, int]] = []  # (time, method, path, status)
        self.emitted = 0  # notifications written to at least one socket
        self.lost = 0  # notifications no connected socket took
        self.changed = asyncio.Event()

    # --- auth -----------------------------------------------------------------------------------
    def issue_token(self) -> tuple[str, float]:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_ttl_s
        return token, self.token_ttl_s

    def token_ok(self, token: str) -> bool:
        exp = self.tokens.get(token)
        return exp is not None and time.monotonic() < exp

    def expire_tokens(self) -> int:
        n = len(self.tokens)
        self.tokens.clear()
        return n

    def over_rate(self, now: float) -> bool:
        window = [t for t, *_ in self.requests[-self.rate_per_min :] if now - t < 60.0]
        return len(window) >= self.rate_per_min

    # --- conversations ---------------------------------------------------------------------------
    def add_queue(self, queue_id: str, media: tuple[str, ...] = ("chat", "message")) -> None:
        self.queues.setdefault(
            queue_id,
            {
                "id": queue_id,
                "name": f"queue {queue_id[:8]}",
                "mediaSettings": {m: {"alertingTimeoutSeconds": 30} for m in media},
            },
        )

    def record(self, envelope: dict[str, Any]) -> None:
        """Keep the conversation a queue notification describes (its latest state)."""
        topic = str(envelope.get("topicName") or "")
        body = envelope.get("eventBody") or {}
        if not topic.startswith("v2.routing.queues.") or not body.get("id"):
            return
        queue_id = topic.split(".")[3]
        conv = to_conversation(topic, body)
        now = datetime.now(UTC)
        held = self.conversations.get(conv["id"])
        ended = all(
            s.get("state") in ("disconnected", "terminated")
            for p in conv["participants"]
            if p.get("purpose") == "customer"
            for s in (p.get("chats") or []) + (p.get("messages") or [])
        ) and any(p.get("purpose") == "customer" for p in conv["participants"])
        if held is None:
            held = self.conversations[conv["id"]] = _Conv(conv, queue_id, now)
        else:
            for p in conv["participants"]:  # attributes written back survive a later event
                old = next((o for o in held.body["participants"] if o["id"] == p["id"]), None)
                if old is not None:
                    p["attributes"] = {**old.get("attributes", {}), **p.get("attributes", {})}
            held.body = conv
        if ended and held.ended_at is None:
            held.ended_at = now

    def analytics(self, start: datetime, end: datetime, queues: set[str]) -> list[dict[str, Any]]:
        out = []
        for cid, c in self.conversations.items():
            if c.queue_id in queues and start <= c.first_seen <= end:
                row: dict[str, Any] = {
                    "conversationId": cid,
                    "conversationStart": _iso(c.first_seen),
                }
                if c.ended_at:
                    row["conversationEnd"] = _iso(c.ended_at)
                out.append(row)
        out.sort(key=lambda r: r["conversationStart"])
        return out

    def conversation(self, cid: str) -> dict[str, Any] | None:
        held = self.conversations.get(cid)
        if held is None:
            return None
        body = json.loads(json.dumps(held.body))
        body["startTime"] = _iso(held.first_seen)
        if held.ended_at:
            body["endTime"] = _iso(held.ended_at)
        return dict(body)

    def patch(self, media: str, cid: str, pid: str, attributes: dict[str, str]) -> bool:
        held = self.conversations.get(cid)
        part = (
            next((p for p in held.body["participants"] if p["id"] == pid), None) if held else None
        )
        if part is None:
            return False
        part.setdefault("attributes", {}).update(attributes)
        self.patches.append(Patch(media, cid, pid, dict(attributes), time.time()))
        self.changed.set()
        return True

    # --- notifications ---------------------------------------------------------------------
    def new_channel(self, token: str = "") -> Channel:
        now = time.monotonic()
        ch = Channel(
            str(uuid.uuid4()),
            now,
            now + self.channel_ttl_s,
            token_expires_at=self.tokens.get(token, float("inf")),
        )
        self.channels[ch.id] = ch
        return ch

    async def publish(self, envelope: dict[str, Any]) -> None:
        """Record the conversation, then send the envelope to every socket subscribed to its
        topic. With no socket connected it is lost, as Genesys loses it."""
        self.record(envelope)
        text = json.dumps(envelope, separators=(",", ":"))
        topic = envelope.get("topicName")
        sent = False
        for ch in list(self.channels.values()):
            if topic in ch.topics:
                for send in list(ch.sockets.values()):
                    try:
                        await send(text)
                        sent = True
                    except Exception:  # noqa: S112 - a closing socket loses it, as in Genesys
                        continue
        if sent:
            self.emitted += 1
        else:
            self.lost += 1

    async def broadcast(self, envelope: dict[str, Any]) -> None:
        text = json.dumps(envelope)
        for ch in list(self.channels.values()):
            for send in list(ch.sockets.values()):
                try:
                    await send(text)
                except Exception:  # noqa: S112 - best effort, like the real service
                    continue

    async def drop_sockets(self) -> int:
        n = 0
        for ch in list(self.channels.values()):
            for close in list(ch.closers.values()):
                await close()
                n += 1
        return n


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
