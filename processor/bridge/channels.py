"""Keeping every watched topic on a live socket, make before break.

A *generation* is the set of channels (at most 1,000 topics each) that covers the topics. It is
replaced by building the next one first — channels created, subscribed, sockets open and
reading — and only then closing the old one, whenever Genesys announces
``v2.system.socket_closing``, the channels near their 24 h life, the token that created them
nears its end (a channel stops with its token), or the watched topics change; meanwhile both
deliver and the duplicates are harmless. A socket that *dies* (closed without
notice, or silent past the heartbeat threshold) leaves a gap: from its last message until the
next generation reads again; the gap is recorded for the backfill.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from processor.bridge.socket import ChannelSocket, Deliver, SocketDead
from processor.bridge.topics import chunks
from processor.genesys import GenesysApi, TokenSource

__all__ = ["ChannelManager"]

log = structlog.get_logger("chatstate.bridge")
OnGap = Callable[[datetime, datetime, str], Awaitable[None]]


@dataclass
class _Generation:
    number: int
    sockets: list[ChannelSocket]
    started: float
    ends: float  # when it must be replaced: its age limit, or its token's end
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class ChannelManager:
    def __init__(
        self,
        api: GenesysApi,
        deliver: Deliver,
        on_gap: OnGap,
        *,
        silence_s: float = 75.0,
        max_age: timedelta = timedelta(hours=23),
        topics_per_channel: int = 1000,
        gap_slack: timedelta = timedelta(seconds=5),
        tokens: TokenSource | None = None,
    ) -> None:
        self._tokens = tokens
        self._api, self._deliver, self._on_gap = api, deliver, on_gap
        self._silence, self._max_age = silence_s, max_age.total_seconds()
        self._per_channel, self._slack = topics_per_channel, gap_slack
        self._events: asyncio.Queue[tuple[int, str, float]] = asyncio.Queue()
        self._topics: list[str] = []
        self._gen: _Generation | None = None
        self._count = 0
        self.replacements = 0  # make-before-break replacements
        self.reconnects = 0  # after a socket died
        self.recovery_s: list[float] = []  # a dead socket's last message -> reading again
        self.connected = asyncio.Event()

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    def set_topics(self, topics: list[str]) -> None:
        if sorted(topics) != sorted(self._topics):
            self._topics = sorted(topics)
            if self._gen is not None:  # before the first generation there is nothing to replace
                self._events.put_nowait((-1, "topics", time.time()))

    async def run(self, gap_from: datetime | None = None, gap_reason: str = "restart") -> None:
        """Forever: build, read, replace. ``gap_from``: a gap already open when starting (the
        previous bridge's last sign of life)."""
        gap_start, reason = gap_from, gap_reason
        backoff = 0.5
        try:
            while True:
                try:
                    new = await self._build()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("bridge.channel_build_failed", error=str(exc))
                    if self._gen is not None and gap_start is None:
                        gap_start, reason = datetime.now(UTC), "channel_failed"
                    await asyncio.sleep(backoff + random.uniform(0, backoff))  # noqa: S311
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = 0.5
                if gap_start is not None:
                    now = datetime.now(UTC)
                    if reason == "socket_lost":
                        self.recovery_s.append((now - gap_start).total_seconds())
                    await self._on_gap(gap_start - self._slack, now, reason)
                    gap_start = None
                old, self._gen = self._gen, new
                self.connected.set()
                if old is not None:
                    await self._retire(old)
                gap_start, reason = await self._wait_for_change(new)
        finally:
            gen, self._gen = self._gen, None  # stopping: its sockets' ends are no gap
            if gen is not None:
                await self._retire(gen)

    async def _wait_for_change(self, gen: _Generation) -> tuple[datetime | None, str]:
        """Until something asks for a new generation; returns the gap's start when a socket
        of ``gen`` died (None for a planned replacement)."""
        while True:
            left = gen.ends - time.monotonic()
            try:
                number, what, at = await asyncio.wait_for(self._events.get(), max(0.0, left))
            except TimeoutError:
                self.replacements += 1
                return None, "age"
            if number not in (-1, gen.number):
                continue  # an event of a generation already replaced
            if what == "dead":
                self.reconnects += 1
                return datetime.fromtimestamp(at, UTC), "socket_lost"
            if what == "topics" and not self._topics:
                continue
            self.replacements += 1
            return None, what

    async def _build(self) -> _Generation:
        self._count += 1
        number = self._count
        sockets: list[ChannelSocket] = []
        ends = time.monotonic() + self._max_age
        if self._tokens is not None:
            token = await self._tokens.renew_before(self._max_age + 60.0)
            ends = min(ends, token.renew_at)
        try:
            for topics in chunks(self._topics, self._per_channel) if self._topics else []:
                channel = await self._api.create_channel()
                await self._api.set_subscriptions(str(channel["id"]), topics)
                sock = ChannelSocket(
                    channel, topics, self._deliver, self._closing_callback(number), self._silence
                )
                await sock.open()
                sockets.append(sock)
        except BaseException:
            for s in sockets:
                await s.close()
            raise
        gen = _Generation(number, sockets, time.monotonic(), ends)
        gen.tasks = [asyncio.create_task(self._read(gen, s)) for s in sockets]
        log.info(
            "bridge.channels_ready",
            generation=number,
            channels=len(sockets),
            topics=len(self._topics),
        )
        return gen

    def _closing_callback(self, number: int) -> Callable[[], None]:
        def announce() -> None:
            self._events.put_nowait((number, "closing", time.time()))

        return announce

    async def _read(self, gen: _Generation, sock: ChannelSocket) -> None:
        try:
            await sock.run()
        except SocketDead as dead:
            if self._gen is gen:
                log.warning("bridge.socket_lost", channel=dead.channel_id, why=dead.why)
                self._events.put_nowait((gen.number, "dead", dead.last_seen))

    async def _retire(self, gen: _Generation, drain_s: float = 60.0) -> None:
        """Close ``gen``'s sockets and let their readers deliver what they had already
        received (a closed websocket still yields its buffered messages): cancelling a reader
        mid-delivery would drop a notification the next generation may never have seen."""
        for s in gen.sockets:
            await s.close()
        if gen.tasks:
            _, late = await asyncio.wait(gen.tasks, timeout=drain_s)
            for t in late:
                t.cancel()
            for t in gen.tasks:
                with contextlib.suppress(BaseException):
                    await t

    def status(self) -> dict[str, Any]:
        gen = self._gen
        return {
            "generation": gen.number if gen else None,
            "channels": len(gen.sockets) if gen else 0,
            "topics": len(self._topics),
            "replacements": self.replacements,
            "reconnects": self.reconnects,
        }
