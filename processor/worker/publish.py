"""Publishing what a committed transaction decided: the outbox, and dead letters (redacted,
see ``processor/dlq.py``).

Records reach ``chat.sessions`` and ``chat.alerts`` only through the outbox: written in the same
transaction as the rows they describe, produced after the commit, deleted once Kafka
acknowledged them. A crash in between re-sends them (consumers dedupe on the record ids), it
never loses them. The sweeper picks up what a crashed worker left behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer

from processor.dlq import DEFAULT_MAX_BYTES, DeadLetter, build_dead_letter
from processor.worker.sink import OutboxRecord
from schemas.dlq import DeadLetterInfo

__all__ = ["Publisher"]


class Publisher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        dlq_topic: str,
        *,
        dlq_encryption_key: str | None = None,
        dlq_max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.dlq_topic = dlq_topic
        self.dlq_encryption_key = dlq_encryption_key
        self.dlq_max_bytes = dlq_max_bytes

    async def produce(self, records: Sequence[OutboxRecord]) -> None:
        """Produce committed outbox records and wait for Kafka's acks (Kafka only: the caller
        retries Kafka and database failures each in their own way)."""
        futures = [await self.producer.send(r.topic, r.value, key=r.key) for r in records]
        await asyncio.gather(*futures)

    async def forget(self, records: Sequence[OutboxRecord]) -> None:
        """Delete outbox rows Kafka acknowledged."""
        await self.pool.execute(
            "DELETE FROM outbox WHERE outbox_id = ANY($1::bigint[])",
            [r.outbox_id for r in records],
        )

    async def left_behind(
        self, older_than_s: float = 10.0, limit: int = 2000
    ) -> list[OutboxRecord]:
        """Outbox rows older than a live worker needs to publish them: a crashed worker's.
        No lock: two sweepers during a leader change may both send a row, which consumers
        dedupe, as they do a re-send after a crash."""
        rows = await self.pool.fetch(
            """SELECT outbox_id, topic, key, value FROM outbox
               WHERE created_at < clock_timestamp() - make_interval(secs => $1)
               ORDER BY outbox_id LIMIT $2""",
            older_than_s,
            limit,
        )
        return [
            OutboxRecord(r["outbox_id"], r["topic"], bytes(r["key"]) if r["key"] else None,
                         bytes(r["value"]) if r["value"] is not None else None)
            for r in rows
        ]

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
