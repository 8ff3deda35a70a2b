"""The API's Kafka producer (snapshots, session commands): an answer the caller can trust,
acknowledged (acks=all) or an error. Not the worker's publisher, which writes inside transactions.

The producer comes from the one factory (``processor.producer``). It is started lazily and
re-created after a failure, so the API starts and answers ``/healthz`` while Kafka is down, and
recovers by itself when Kafka returns. Every wait is bounded: a data action has seconds, not
minutes, and a 503 with ``Retry-After`` lets its error branch retry; a record that reaches the
log after we gave up is harmless (the processor dedupes by content id).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from processor.api.exceptions import KafkaUnavailable
from processor.kafka_security import KafkaSecurity, diagnose
from processor.logs import get_logger
from processor.producer import make_producer

__all__ = ["ApiProducer"]

log = get_logger("chatstate.api")

_RETRY_START_AFTER_S = 1.0  # while Kafka is down, do not dial it on every request


class ApiProducer:
    def __init__(self, bootstrap: str, timeout_s: float, security: KafkaSecurity) -> None:
        self._bootstrap = bootstrap
        self._security = security
        self.timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._failed_at = 0.0

    async def _ensure(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is not None:
                return self._producer
            if time.monotonic() - self._failed_at < _RETRY_START_AFTER_S:
                raise KafkaUnavailable("Kafka was unreachable moments ago")
            # request_timeout bounds the bootstrap; a failed producer is discarded, not reused.
            # linger_ms=0: every request waits for its own record's ack, so lingering only adds
            # latency; under load records batch anyway while the previous request to the broker
            # is in flight (persist p99 46 -> 30 ms at 50 clients, benchmarks/api_bench.py).
            producer = make_producer(
                self._bootstrap, self._security,
                request_timeout_ms=max(1000, int(self.timeout_s * 1000)), linger_ms=0,
            )
            try:
                await asyncio.wait_for(producer.start(), self.timeout_s)
            except (KafkaError, OSError, TimeoutError) as exc:
                self._failed_at = time.monotonic()
                await _quietly_stop(producer)
                raise KafkaUnavailable("Kafka is unreachable") from exc
            self._producer = producer
            return producer

    async def start(self) -> bool:
        """Try to connect now (at startup); False if Kafka is not there yet."""
        try:
            await self._ensure()
        except KafkaUnavailable:
            # Which setting is wrong (password, CA, protocol) or that nothing answers.
            reason = await diagnose(self._bootstrap, self._security, self.timeout_s)
            log.error("api_kafka_unusable", reason=reason)
            return False
        return True

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        """Return only once Kafka acknowledged the record; else raise ``KafkaUnavailable``."""
        producer = await self._ensure()
        try:
            await asyncio.wait_for(
                producer.send_and_wait(topic, value, key=key, headers=list(headers)),
                self.timeout_s,
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            raise KafkaUnavailable("Kafka did not acknowledge the write in time") from exc

    async def ping(self) -> bool:
        """Readiness: can we fetch cluster metadata right now?"""
        try:
            producer = await self._ensure()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), self.timeout_s)
        except (KafkaUnavailable, KafkaError, OSError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await _quietly_stop(producer)


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    # Closing a producer that never connected: nothing is pending in it.
    with contextlib.suppress(KafkaError, OSError, TimeoutError):
        await asyncio.wait_for(producer.stop(), 5)
