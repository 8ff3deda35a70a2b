"""Which left-behind outbox records already reached Kafka.

A worker publishes a committed batch's outbox rows, waits for the broker's acks, then deletes
the rows. SIGKILLed between the ack and the delete, it leaves rows behind that are already on
their topic; the leader's sweeper used to send them again (same record id, but ``chat.alerts``
then held the alert twice: the fault suite's "duplicate alerts", issue 14). Left-behind rows are
rare (only after a crash), so before re-sending them the sweeper reads their destination
partitions from about when they were written to the end, and forgets instead of re-sending
those it finds (docs/architecture.md, "Outputs through a transactional outbox").

A record is recognised by its key and the ``id`` of its JSON value (every state and alert has
one, derived from what it names), or by its key and value bytes when it has no id (tombstones,
write-back requests). It is looked for on the partition the producer's default partitioner
picked (murmur2 of the key, ``processor/core/partitioning.py``; every partition for a record
without a key). The read is bounded in records and seconds: records on a partition the read did
not finish are sent again, as before this module (at-least-once, consumers dedupe by id), and
the sweeper logs it. A session state older than one of the same session already on the topic
is forgotten, not sent: the next owner of the partition published a newer version meanwhile,
and the compacted topic must end with the newest.

The matching is pure (:func:`start_times`, :class:`Seen`, :func:`judge`); :func:`on_kafka` is
the aiokafka shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from processor.core.partitioning import partition_for
from processor.kafka_security import KafkaSecurity
from processor.worker.outbox import OutboxRecord

__all__ = [
    "BOUNDS", "Bounds", "Seen", "Verdict", "identity", "judge", "on_kafka", "recognised",
    "start_times",
]

Place = tuple[str, int]  # (topic, partition)
# (key, id of the JSON value) or, for a record without an id, (key, value bytes or None).
Identity = tuple[bytes | None, str | bytes | None]
_CONNECT_S = 10.0  # metadata, connecting, offsets: beyond this the broker is not answering


@dataclass(frozen=True)
class Bounds:
    """How much the sweeper reads before it gives up and re-sends.

    ``margin_s``: how far before a row's ``created_at`` (the database's clock) the read starts;
    the record's timestamp is the producer's clock at the send, after the commit, so the margin
    only absorbs clock skew between the database and the worker. The defaults keep a sweep under
    a few seconds: aiokafka reads ~50,000-200,000 records/s here (issue 14's ``faust_ceiling``),
    and only records whose key is sought are decoded."""

    margin_s: float = 30.0
    max_records: int = 200_000
    max_seconds: float = 10.0


BOUNDS = Bounds()  # the sweeper's; tests of the fallback narrow it


def recognised(key: bytes | None, value: bytes | None) -> tuple[Identity, int | None]:
    """What a record is recognised by, and its session-state version, from one parse of its
    value: its key and the ``id`` of its JSON value, else its key and its bytes (runbook links
    made absolute at publishing change an alert's bytes, never its id); the ``version`` of a
    session state (``chat.sessions``), None for other records."""
    try:
        doc = None if value is None else json.loads(value)
    except ValueError:  # not JSON (UnicodeDecodeError is a ValueError too)
        doc = None
    if not isinstance(doc, dict):
        return (key, value), None
    v = doc.get("version")
    version = v if isinstance(v, int) and not isinstance(v, bool) else None
    found = doc.get("id")
    return ((key, found) if isinstance(found, str) else (key, value)), version


def identity(key: bytes | None, value: bytes | None) -> Identity:
    return recognised(key, value)[0]


def places(record: OutboxRecord, partitions: Mapping[str, int]) -> list[Place]:
    """Where the producer's default partitioner put ``record`` (any partition without a key)."""
    n = partitions[record.topic]
    if record.key is None:
        return [(record.topic, p) for p in range(n)]
    return [(record.topic, partition_for(record.key, n))]


def start_times(
    records: Iterable[OutboxRecord], partitions: Mapping[str, int], margin_s: float
) -> dict[Place, int]:
    """Per partition to read, the timestamp (ms) to read from: the earliest ``created_at`` of
    the records that would be there, less the margin (0, the beginning, when unknown)."""
    out: dict[Place, int] = {}
    for r in records:
        ms = 0 if r.created_at is None else max(0, int((r.created_at.timestamp() - margin_s) * 1e3))
        for place in places(r, partitions):
            out[place] = min(out.get(place, ms), ms)
    return out


@dataclass
class Seen:
    """What the read found: the identities of the records sought, and the partitions read to
    their end (only there does "not found" mean "never reached Kafka")."""

    keys: Mapping[str, Collection[bytes | None]]  # per topic, the keys sought
    found: set[tuple[str, Identity]] = field(default_factory=set)
    complete: set[Place] = field(default_factory=set)
    # Per (topic, key) sought, the highest session-state version read: a left-behind state
    # older than one already published must not be sent after it (the compacted topic's latest
    # record for the session would go back in time).
    newest: dict[tuple[str, bytes | None], int] = field(default_factory=dict)

    @classmethod
    def seeking(cls, records: Iterable[OutboxRecord]) -> Seen:
        keys: dict[str, set[bytes | None]] = {}
        for r in records:
            keys.setdefault(r.topic, set()).add(r.key)
        return cls(keys)

    def add(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """One record read; decoded only when its key is sought (a bounded read stays cheap)."""
        if key in self.keys.get(topic, ()):
            ident, v = recognised(key, value)
            self.found.add((topic, ident))
            if v is not None and v > self.newest.get((topic, key), -1):
                self.newest[(topic, key)] = v


@dataclass(frozen=True)
class Verdict:
    on_kafka: list[OutboxRecord]  # found on their topic, or superseded there: forget, not sent
    missing: list[OutboxRecord]  # their partitions read to the end, not there: send
    unsure: list[OutboxRecord]  # not found where the read stopped short: send (at-least-once)

    @property
    def to_send(self) -> list[OutboxRecord]:
        return [*self.missing, *self.unsure]


def judge(records: Sequence[OutboxRecord], partitions: Mapping[str, int], seen: Seen) -> Verdict:
    """Split left-behind records by what the read found (``partitions``: each topic's count)."""
    on_kafka: list[OutboxRecord] = []
    missing: list[OutboxRecord] = []
    unsure: list[OutboxRecord] = []
    for r in records:
        ident, v = recognised(r.key, r.value)
        if (r.topic, ident) in seen.found or (
            v is not None and seen.newest.get((r.topic, r.key), -1) > v
        ):
            on_kafka.append(r)
        elif all(p in seen.complete for p in places(r, partitions)):
            missing.append(r)
        else:
            unsure.append(r)
    return Verdict(on_kafka, missing, unsure)


async def on_kafka(
    records: Sequence[OutboxRecord],
    producer: AIOKafkaProducer,
    bootstrap: str,
    security: KafkaSecurity,
    bounds: Bounds | None = None,
) -> Verdict:
    """Read the partitions ``records`` would be on, within ``bounds`` (default :data:`BOUNDS`),
    and judge them. Partition counts come from the producer's metadata: the ones its
    partitioner used. Kafka errors propagate (the caller falls back to sending)."""
    bounds = bounds or BOUNDS
    if not records:
        return Verdict([], [], [])
    async with asyncio.timeout(_CONNECT_S):
        topics = {r.topic for r in records}
        partitions = {t: len(await producer.partitions_for(t)) for t in topics}
    starts = start_times(records, partitions, bounds.margin_s)
    seen = Seen.seeking(records)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        client_id="chatstate-outbox-sweep",
        **security.client_options(),
    )
    # The reading stops itself at ``max_seconds``; connecting and asking for offsets must not
    # outlast it by much either: a broker that stops answering leaves what was not read yet
    # unsure (re-sent), what was read still counts.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(bounds.max_seconds + _CONNECT_S):
            try:
                await consumer.start()
                await _read(consumer, starts, seen, bounds)
            finally:
                await consumer.stop()  # a half-started client holds connections too
    return judge(records, partitions, seen)


async def _read(
    consumer: AIOKafkaConsumer, starts: Mapping[Place, int], seen: Seen, bounds: Bounds
) -> None:
    """Read each partition from its start time to the end it had when the read began, or until
    a bound is hit; partitions read to their end go in ``seen.complete``."""
    deadline = time.monotonic() + bounds.max_seconds
    tps = [TopicPartition(t, p) for t, p in starts]
    consumer.assign(tps)
    offsets = await consumer.offsets_for_times({tp: starts[tp.topic, tp.partition] for tp in tps})
    ends = await consumer.end_offsets(tps)
    pending: dict[TopicPartition, int] = {}
    for tp in tps:
        found = offsets.get(tp)
        if found is None or found.offset >= ends[tp]:  # nothing written since the start time
            seen.complete.add((tp.topic, tp.partition))
        else:
            consumer.seek(tp, found.offset)
            pending[tp] = ends[tp]
    budget = bounds.max_records
    while pending and budget > 0 and time.monotonic() < deadline:
        batches = await consumer.getmany(*pending, timeout_ms=200, max_records=min(budget, 5000))
        for tp, msgs in batches.items():
            end = pending.get(tp)
            for m in msgs:
                if end is not None and m.offset < end:
                    seen.add(tp.topic, m.key, m.value)
            budget -= len(msgs)
        for tp, end in list(pending.items()):
            if await consumer.position(tp) >= end:
                seen.complete.add((tp.topic, tp.partition))
                del pending[tp]
