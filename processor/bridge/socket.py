"""One notification channel's websocket: read envelopes, answer and expect heartbeats.

Genesys sends ``channel.metadata`` "WebSocket Heartbeat" every 30 s and answers an
application-level ``{"message": "ping"}`` with a ``pong`` (it ignores RFC 6455 ping frames, so
protocol pings are off). A socket silent past ``silence_s`` is dead even if TCP says otherwise.
``v2.system.socket_closing`` announces that Genesys will close this socket within about a
minute: the owner starts a replacement (make before break) and keeps reading meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = ["ChannelSocket", "SocketDead"]

log = structlog.get_logger("chatstate.bridge")
Deliver = Callable[[dict[str, Any]], Awaitable[object]]
CLOSING = "v2.system.socket_closing"
HEARTBEAT = "channel.metadata"


class SocketDead(Exception):
    """The socket closed or went silent; ``last_seen`` is the wall time of its last message."""

    def __init__(self, channel_id: str, last_seen: float, why: str) -> None:
        super().__init__(f"channel {channel_id}: {why}")
        self.channel_id, self.last_seen, self.why = channel_id, last_seen, why


class ChannelSocket:
    def __init__(
        self,
        channel: dict[str, Any],
        topics: list[str],
        deliver: Deliver,
        on_closing: Callable[[], None],
        silence_s: float = 75.0,
    ) -> None:
        self.id, self.uri = str(channel["id"]), str(channel["connectUri"])
        self.topics = topics
        self._deliver, self._on_closing, self._silence = deliver, on_closing, silence_s
        self._ws: ClientConnection | None = None
        self.last_seen = time.time()
        self.messages = 0
        self.closing_announced = False

    async def open(self) -> None:
        self._ws = await connect(self.uri, ping_interval=None, max_size=2**22, open_timeout=15)
        self.last_seen = time.time()

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def run(self) -> None:
        """Read until the socket dies (raises :class:`SocketDead`) or is closed by us
        (returns). Each envelope is delivered before the next is read: backpressure."""
        assert self._ws is not None
        ws = self._ws
        pinger = asyncio.create_task(self._ping(ws))
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), self._silence)
                except TimeoutError:
                    raise SocketDead(self.id, self.last_seen, "silent") from None
                except ConnectionClosed as exc:
                    if self.closing_announced or exc.rcvd is None or exc.rcvd.code != 1000:
                        raise SocketDead(self.id, self.last_seen, "closed") from None
                    raise SocketDead(self.id, self.last_seen, "closed by peer") from None
                self.last_seen = time.time()
                self.messages += 1
                try:
                    doc = json.loads(raw)
                except ValueError:
                    log.warning("bridge.not_json", channel=self.id)
                    continue
                if not isinstance(doc, dict):
                    continue
                topic = doc.get("topicName")
                if topic == HEARTBEAT:
                    continue
                if topic == CLOSING:
                    self.closing_announced = True
                    self._on_closing()
                    continue
                await self._deliver(doc)
        finally:
            pinger.cancel()

    async def _ping(self, ws: ClientConnection) -> None:
        interval = max(1.0, self._silence / 3)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await ws.send('{"message":"ping"}')
