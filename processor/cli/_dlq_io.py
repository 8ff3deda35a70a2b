"""What ``chatstate dlq`` does against the servers: read dead letters off ``chat.dlq`` and replay
one to its source topic at most once (a mark in PostgreSQL, written before producing).

Kept apart from the command module so the commands stay a screen of argument handling and
printing, and so the integration tests can drive the same functions the commands call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from processor.dlq import (
    ORIGINAL_HEADER,
    REPLAY_OF_HEADER,
    TRUNCATED_HEADER,
    DeadLetterError,
    decrypt_original,
    split_headers,
)
from processor.producer import make_producer
from processor.servers import Endpoints
from schemas.dlq import DeadLetterInfo

__all__ = ["Found", "Replay", "fetch", "plan_replay", "read", "replay", "replayed"]


@dataclass(frozen=True)
class Found:
    """A dead letter as the tools see it."""

    record: ConsumerRecord[bytes, bytes]
    info: DeadLetterInfo
    original_headers: list[tuple[str, bytes]]  # the source record's, redacted
    encrypted_original: bool
    truncated: str  # "" or e.g. "original,value=10/99"

    @property
    def ref(self) -> str:
        return f"{self.record.partition}:{self.record.offset}"

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Found | None:
        headers = list(record.headers or ())
        try:
            info = DeadLetterInfo.from_headers(headers)
        except (KeyError, ValueError):  # not a dead letter chatstate wrote
            return None
        original, own = split_headers(headers)
        names = dict(own)
        return cls(
            record,
            info,
            original,
            ORIGINAL_HEADER in names,
            names.get(TRUNCATED_HEADER, b"").decode(errors="replace"),
        )


_IDLE_LIMIT = 15  # seconds without a record while some were still due: the broker is gone


def _consumer(ep: Endpoints) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=ep.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        **ep.kafka_security.client_options(),
    )


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions. A consumer with no subscription knows no topic's metadata until
    it asks (``topics()`` fetches a copy it does not keep), and a just-created topic may take a
    moment to reach every broker."""
    for _ in range(20):
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer._client.force_metadata_update()  # no public way to refresh the cache
        await asyncio.sleep(0.1)
    raise DeadLetterError(f"no topic {topic} (run `chatstate topics apply`)")


async def read(
    ep: Endpoints, topic: str, *, since: datetime | None = None
) -> AsyncIterator[Found | ConsumerRecord[bytes, bytes]]:
    """Every dead letter on ``topic`` from ``since`` (by record time) up to the end as it was
    when reading started; a record that is not a dead letter is yielded as it is."""
    consumer = _consumer(ep)
    await consumer.start()
    try:
        parts = await _partitions(consumer, topic)
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        starts = await consumer.beginning_offsets(parts)
        if since is not None:
            at = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in parts}
            )
            starts = {tp: (at[tp].offset if at[tp] else ends[tp]) for tp in parts}
        pending = {tp for tp in parts if starts[tp] < ends[tp]}
        for tp in parts:
            consumer.seek(tp, starts[tp])
        idle = 0
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            idle = 0 if batch else idle + 1
            if idle >= _IDLE_LIMIT:
                raise DeadLetterError(f"{topic} stopped answering before its end was reached")
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= ends[tp]:
                        break
                    yield Found.of(r) or r
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()


async def fetch(ep: Endpoints, topic: str, partition: int, offset: int) -> Found:
    """The dead letter at ``partition:offset``, or a DeadLetterError saying why there is none."""
    consumer = _consumer(ep)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        if tp not in await _partitions(consumer, topic):
            raise DeadLetterError(f"{topic} has no partition {partition}")
        consumer.assign([tp])
        first = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if not first <= offset < end:
            raise DeadLetterError(
                f"no record at {topic}:{partition}:{offset} (it holds {first}..{end - 1}; older "
                "ones have left retention)"
            )
        consumer.seek(tp, offset)
        record = await consumer.getone(tp)
    finally:
        await consumer.stop()
    found = Found.of(record)
    if found is None or record.offset != offset:
        raise DeadLetterError(f"{topic}:{partition}:{offset} is not a dead letter chatstate wrote")
    return found


@dataclass(frozen=True)
class Replay:
    """What a replay sends, and from where."""

    topic: str
    key: bytes | None
    headers: list[tuple[str, bytes]]
    value: bytes
    from_redacted: bool


def plan_replay(
    found: Found, dlq_topic: str, *, encryption_key: str | None, redacted: bool
) -> Replay:
    """The record a replay re-produces: the decrypted original when there is one and the key
    to open it, else the redacted copy, and that only when the operator said ``--redacted``."""
    mark = (REPLAY_OF_HEADER, f"{dlq_topic}:{found.ref}".encode())
    if found.encrypted_original and encryption_key:
        o = decrypt_original(found.record, encryption_key)
        headers = [h for h in o.headers if h[0] != REPLAY_OF_HEADER]
        return Replay(found.info.source_topic, o.key, [*headers, mark], o.value, False)
    if not redacted:
        if found.encrypted_original:
            raise DeadLetterError(
                "this dead letter's original is encrypted: set CHATSTATE_DLQ_ENCRYPTION_KEY to "
                "the key it was written with, or replay its redacted copy with --redacted"
            )
        raise DeadLetterError(
            "this dead letter carries no encrypted original, only its redacted copy: replay "
            "that with --redacted (what the PII guard replaced stays replaced)"
        )
    if any(
        part.split("=")[0] in ("value", "key", "headers") for part in found.truncated.split(",")
    ):
        raise DeadLetterError(
            f"this dead letter was cut to fit chat.dlq ({found.truncated}): its redacted copy is "
            "not the whole record, and replaying it would lose the rest"
        )
    headers = [h for h in found.original_headers if h[0] != REPLAY_OF_HEADER]
    return Replay(
        found.info.source_topic, found.record.key, [*headers, mark], found.record.value or b"", True
    )


async def replay(ep: Endpoints, dlq_topic: str, found: Found, plan: Replay) -> tuple[int, int]:
    """Produce ``plan`` once: mark, produce, record where it landed; unmark if producing fails.
    Returns the partition and offset on the source topic."""
    conn = await asyncpg.connect(ep.database_url)
    try:
        marked = await conn.fetchval(
            """INSERT INTO dlq_replays (dlq_topic, dlq_partition, dlq_offset, source_topic,
                                        from_redacted)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true""",
            dlq_topic,
            found.record.partition,
            found.record.offset,
            plan.topic,
            plan.from_redacted,
        )
        if not marked:
            raise DeadLetterError(await _already(conn, dlq_topic, found))
        producer = make_producer(ep.kafka_bootstrap, ep.kafka_security)
        try:
            await producer.start()
            meta = await producer.send_and_wait(
                plan.topic, plan.value, key=plan.key, headers=plan.headers
            )
        except BaseException:
            await conn.execute(
                """DELETE FROM dlq_replays
                   WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3""",
                dlq_topic,
                found.record.partition,
                found.record.offset,
            )
            raise
        finally:
            await producer.stop()
        await conn.execute(
            """UPDATE dlq_replays SET produced_at = now(), produced_partition = $4,
                                      produced_offset = $5
               WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3""",
            dlq_topic,
            found.record.partition,
            found.record.offset,
            meta.partition,
            meta.offset,
        )
        return meta.partition, meta.offset
    finally:
        await conn.close()


async def replayed(database_url: str, dlq_topic: str, found: Found) -> str | None:
    """Why a replay would be refused (it already happened), or None."""
    conn = await asyncpg.connect(database_url)
    try:
        return await _already(conn, dlq_topic, found)
    finally:
        await conn.close()


async def _already(conn: asyncpg.Connection, dlq_topic: str, found: Found) -> str | None:
    row = await conn.fetchrow(
        """SELECT source_topic, started_at, produced_at, produced_partition, produced_offset
           FROM dlq_replays WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = $3""",
        dlq_topic,
        found.record.partition,
        found.record.offset,
    )
    if row is None:
        return None
    here = f"{dlq_topic}:{found.ref}"
    if row["produced_at"] is None:
        return (
            f"{here} has a replay that started at {row['started_at']:%Y-%m-%d %H:%M:%S%z} and "
            f"never confirmed (interrupted?): look on {row['source_topic']} for a record with "
            f"header {REPLAY_OF_HEADER}={here} before doing anything else"
        )
    return (
        f"{here} was already replayed at {row['produced_at']:%Y-%m-%d %H:%M:%S%z} to "
        f"{row['source_topic']}:{row['produced_partition']}:{row['produced_offset']}; a dead "
        "letter is replayed at most once"
    )
