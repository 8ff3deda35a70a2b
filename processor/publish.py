"""Publishing what a committed transaction decided: the outbox, and dead letters.

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

from processor.sink import OutboxRecord
from schemas.dlq import DeadLetterInfo

__all__ = ["Publisher"]


class Publisher:
    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, dlq_topic: str) -> None:
        self.pool = pool
        self.producer = producer
        self.dlq_topic = dlq_topic

    async def publish(self, records: Sequence[OutboxRecord]) -> None:
        """Produce committed outbox records, wait for Kafka's acks, then forget them."""
        if not records:
            return
        futures = [await self.producer.send(r.topic, r.value, key=r.key) for r in records]
        await asyncio.gather(*futures)
        await self.pool.execute(
            "DELETE FROM outbox WHERE outbox_id = ANY($1::bigint[])",
            [r.outbox_id for r in records],
        )

    async def sweep(self, older_than_s: float = 10.0, limit: int = 2000) -> int:
        """Publish outbox rows a crashed worker left behind (locked rows are someone's now)."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT outbox_id, topic, key, value FROM outbox
                   WHERE created_at < clock_timestamp() - make_interval(secs => $1)
                   ORDER BY outbox_id LIMIT $2 FOR UPDATE SKIP LOCKED""",
                older_than_s,
                limit,
            )
            if not rows:
                return 0
            futures = [
                await self.producer.send(
                    r["topic"], bytes(r["value"]), key=bytes(r["key"]) if r["key"] else None
                )
                for r in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute(
                "DELETE FROM outbox WHERE outbox_id = ANY($1::bigint[])",
                [r["outbox_id"] for r in rows],
            )
            return len(rows)

    async def dead_letter(self, key: bytes | None, value: bytes, info: DeadLetterInfo) -> None:
        """The original key and bytes, untouched; headers say where from, which stage, why."""
        await self.producer.send_and_wait(self.dlq_topic, value, key=key, headers=info.headers())
