"""Notifications onto ``genesys.conversations``: a bounded buffer and one producer task.

Why bounded and blocking: when Kafka is down the buffer fills and :meth:`Forwarder.put`
waits, so the socket readers stop reading (backpressure) instead of holding an unbounded
backlog or dropping a notification. A batch Kafka did not acknowledge within
``write_timeout_s`` is sent again on a new producer, in order, until it is acknowledged: a
repeat is harmless (conversation notifications are states), a loss is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer

from processor.bridge.redact import redact_envelope
from processor.bridge.topics import conversation_id

__all__ = ["Forwarder", "Outgoing", "Stats"]

log = structlog.get_logger("chatstate.bridge")
Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Outgoing:
    key: bytes
    value: bytes
    headers: Headers
    queued_at: float
    acked: asyncio.Future[None] | None = None


@dataclass
class Stats:
    forwarded: int = 0
    backfilled: int = 0
    skipped: int = 0  # no conversation id (not a conversation notification)
    redacted: int = 0
    resends: int = 0
    last_ack: float = 0.0
    ack_latency_s: list[float] = field(default_factory=list)


class Forwarder:
    def __init__(
        self,
        make_producer: Callable[[], AIOKafkaProducer],
        topic: str,
        buffer: int = 10_000,
        batch: int = 500,
        write_timeout_s: float = 30.0,
    ) -> None:
        self._make, self.topic = make_producer, topic
        self._queue: asyncio.Queue[Outgoing] = asyncio.Queue(maxsize=buffer)
        self._batch, self._timeout = batch, write_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self.stats = Stats()
        self.kafka_ok = True

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def put(
        self, envelope: dict[str, Any], headers: Headers | None = None, *, track: bool = False
    ) -> asyncio.Future[None] | bool:
        """Queue one envelope (redacted first); waits while the buffer is full. False: not a
        conversation notification, nothing queued. ``track``: returns a future done when
        Kafka acknowledged it (the backfill marks a gap filled only then)."""
        key = conversation_id(envelope)
        if key is None:
            self.stats.skipped += 1
            return False
        clean, found = redact_envelope(envelope)
        if found:
            self.stats.redacted += 1
        value = json.dumps(clean, separators=(",", ":"), ensure_ascii=False).encode()
        acked = asyncio.get_running_loop().create_future() if track else None
        await self._queue.put(Outgoing(key.encode(), value, headers or [], time.monotonic(), acked))
        return acked if acked is not None else True

    async def drain(self, timeout: float = 30.0) -> bool:  # noqa: ASYNC109  # noqa: ASYNC109 - a bound, not a cancel scope
        """Wait until everything queued was acknowledged (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.qsize() or self._queue._unfinished_tasks:  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def run(self) -> None:
        """The producer loop; cancelled to stop (call :meth:`drain` first to flush)."""
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < self._batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._send(batch)
                for _ in batch:
                    self._queue.task_done()
        finally:
            await self._close()

    async def _send(self, batch: list[Outgoing]) -> None:
        backoff = 0.2
        while True:
            try:
                if self._producer is None:
                    self._producer = self._make()
                    await asyncio.wait_for(self._producer.start(), self._timeout)
                futures = [
                    await self._producer.send(self.topic, o.value, key=o.key, headers=o.headers)
                    for o in batch
                ]
                await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.kafka_ok = False
                self.stats.resends += 1
                log.warning(
                    "bridge.kafka_write_failed",
                    error=type(exc).__name__,
                    batch=len(batch),
                    retry_in_s=round(backoff, 2),
                )
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            now = time.monotonic()
            self.kafka_ok = True
            self.stats.last_ack = now
            for o in batch:
                if o.acked is not None and not o.acked.done():
                    o.acked.set_result(None)
                if any(h == "chatstate-backfill" for h, _ in o.headers):
                    self.stats.backfilled += 1
                else:
                    self.stats.forwarded += 1
            lat = self.stats.ack_latency_s
            lat.append(now - batch[0].queued_at)
            del lat[:-1000]
            return

    async def _close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):  # a broken producer is being replaced
                await asyncio.wait_for(producer.stop(), 5)
