"""Publishing what a committed transaction decided: the outbox, and dead letters (redacted,
see ``processor/dlq.py``).

Records reach ``chat.sessions`` and ``chat.alerts`` only through the outbox: written in the same
transaction as the rows they describe, produced after the commit, deleted once Kafka
acknowledged them. A crash in between re-sends them (consumers dedupe on the record ids), it
never loses them. The sweeper picks up what a crashed worker left behind. This module is the
Kafka half only; the outbox rows are the storage port's (``processor/worker/storage.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from processor.dlq import DEFAULT_MAX_BYTES, DeadLetter, build_dead_letter
from processor.worker.outbox import OutboxRecord
from schemas.dlq import DeadLetterInfo

__all__ = ["Publisher"]


class Publisher:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        dlq_topic: str,
        *,
        dlq_encryption_key: str | None = None,
        dlq_max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.producer = producer
        self.dlq_topic = dlq_topic
        self.dlq_encryption_key = dlq_encryption_key
        self.dlq_max_bytes = dlq_max_bytes

    async def produce(self, records: Sequence[OutboxRecord]) -> None:
        """Produce committed outbox records and wait for Kafka's acks (Kafka only: the caller
        retries Kafka and database failures each in their own way)."""
        futures = [await self.producer.send(r.topic, r.value, key=r.key) for r in records]
        await asyncio.gather(*futures)

    async def dead_letter(
        self,
        key: bytes | None,
        value: bytes,
        info: DeadLetterInfo,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Dead-letter one record: redacted, its original encrypted when a key is configured,
        sized to fit (``processor.dlq.build_dead_letter``); headers say where from and why."""
        await self.produce_dead_letter(
            build_dead_letter(
                key,
                value,
                headers,
                info,
                encryption_key=self.dlq_encryption_key,
                max_bytes=self.dlq_max_bytes,
            )
        )

    async def produce_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        """Produce dead letters already built, all in flight at once, and wait for the acks."""
        futures = [
            await self.producer.send(self.dlq_topic, d.value, key=d.key, headers=list(d.headers))
            for d in dead
        ]
        await asyncio.gather(*futures)

    async def produce_dead_letter(self, dead: DeadLetter) -> None:
        """Produce a dead letter already built and wait for Kafka's ack."""
        await self.producer.send_and_wait(
            self.dlq_topic, dead.value, key=dead.key, headers=list(dead.headers)
        )
