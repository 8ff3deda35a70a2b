"""Publishing what a committed transaction decided: the outbox, and dead letters (redacted,
see ``processor/dlq.py``).

Records reach ``chat.sessions`` and ``chat.alerts`` only through the outbox: written in the same
transaction as the rows they describe, produced after the commit, deleted once Kafka
acknowledged them. A crash in between never loses them: the sweeper picks up what a crashed
worker left behind, and sends again only what it does not find on the topic
(``processor/worker/sweep.py``; past its bounded read, a repeat consumers dedupe). This module
is the Kafka half only; the outbox rows are the storage port's (``processor/worker/storage.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from processor.dlq import DeadLetter
from processor.worker.outbox import OutboxRecord

__all__ = ["Publisher"]


class Publisher:
    def __init__(self, producer: AIOKafkaProducer, dlq_topic: str) -> None:
        # Dead letters are built (redacted, encrypted, sized) by the caller with
        # ``processor.dlq.build_dead_letter``: one place decides what a dead letter holds.
        self.producer = producer
        self.dlq_topic = dlq_topic

    async def produce(self, records: Sequence[OutboxRecord]) -> None:
        """Produce committed outbox records and wait for Kafka's acks (Kafka only: the caller
        retries Kafka and database failures each in their own way)."""
        futures = [await self.producer.send(r.topic, r.value, key=r.key) for r in records]
        await asyncio.gather(*futures)

    async def produce_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        """Produce dead letters already built, all in flight at once, and wait for the acks."""
        futures = [
            await self.producer.send(self.dlq_topic, d.value, key=d.key, headers=list(d.headers))
            for d in dead
        ]
        await asyncio.gather(*futures)
