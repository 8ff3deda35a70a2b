"""Getting simulated records out: NDJSON lines, or straight onto the input topics at a rate.

Producing goes through :func:`processor.producer.make_producer` (acks=all, idempotent), the same
settings the bridge-facing API uses, so a benchmark measures the path users run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from processor.kafka_security import KafkaSecurity
from processor.producer import make_producer
from processor.sim.scenarios import SimRecord
from processor.topics import Catalog

__all__ = ["ProduceStats", "SentRecord", "produce", "stamp_snapshot", "write_ndjson"]

_FLUSH_EVERY = 2000  # outstanding sends before we wait for acks: bounds memory, keeps batching


@dataclass(frozen=True)
class SentRecord:
    """Where a record landed; the fault suite checks each one was forwarded."""

    topic: str  # logical name
    partition: int
    offset: int
    kind: str
    session: int | None
    sim_id: str | None


@dataclass
class ProduceStats:
    sent: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    started: float = 0.0  # time.time()
    finished: float = 0.0
    stopped_by_duration: bool = False
    records: list[SentRecord] = field(default_factory=list)

    @property
    def rate(self) -> float:
        span = self.finished - self.started
        return self.sent / span if span > 0 else 0.0


def write_ndjson(records: Iterable[SimRecord], out: TextIO) -> int:
    n = 0
    for rec in records:
        out.write(json.dumps(rec.ndjson(), separators=(",", ":")) + "\n")
        n += 1
    return n


def stamp_snapshot(value: bytes, sent_ns: int) -> bytes:
    """Put the wall-clock send time into the snapshot (``stateSnapshot.benchSentAt``, epoch ns):
    the database's ``committed_at`` minus this is produce→commit latency."""
    doc: dict[str, Any] = json.loads(value)
    doc["stateSnapshot"]["benchSentAt"] = sent_ns
    return json.dumps(doc, separators=(",", ":")).encode()


async def produce(
    records: Iterable[SimRecord],
    bootstrap: str,
    catalog: Catalog,
    *,
    security: KafkaSecurity,
    rate: float | None = None,
    duration: float | None = None,
    stamp: bool = False,
    keep_offsets: bool = False,
    on_progress: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> ProduceStats:
    """Send ``records`` in order; ``rate`` in records/s (None: as fast as the broker acks);
    ``duration`` stops early; ``stop`` lets a caller end a stream it runs in the background."""
    stats = ProduceStats(started=time.time())
    names = {t: catalog.name(t) for t in ("genesys.conversations", "chat.snapshots",
                                           "chat.session-commands")}
    stamped: dict[str, bytes] = {}  # a retried post re-sends the first post's exact bytes
    producer = make_producer(bootstrap, security, linger_ms=5, max_batch_size=256 * 1024,
                             client_id="chatstate-sim")
    await producer.start()
    pending: list[tuple[asyncio.Future[Any], SimRecord]] = []
    t0 = time.monotonic()
    try:
        for i, rec in enumerate(records):
            if stop is not None and stop.is_set():
                break
            now = time.monotonic()
            if duration is not None and now - t0 >= duration:
                stats.stopped_by_duration = True
                break
            if rate:
                ahead = t0 + i / rate - now
                if ahead > 0.002:
                    await asyncio.sleep(ahead)
            value = rec.value
            if stamp and rec.kind == "snapshot" and rec.sim_id is not None:
                value = stamped.get(rec.sim_id) or stamp_snapshot(value, time.time_ns())
                stamped[rec.sim_id] = value
            fut = await producer.send(
                names[rec.topic.value], value, key=rec.key.encode() if rec.key else None
            )
            pending.append((fut, rec))
            stats.sent += 1
            stats.by_kind[rec.kind] = stats.by_kind.get(rec.kind, 0) + 1
            if len(pending) >= _FLUSH_EVERY:
                await _settle(pending, stats, keep_offsets)
                if on_progress:
                    on_progress(stats.sent)
        await _settle(pending, stats, keep_offsets)
        if on_progress:
            on_progress(stats.sent)
    finally:
        await producer.stop()
        stats.finished = time.time()
    return stats


async def _settle(
    pending: list[tuple[asyncio.Future[Any], SimRecord]], stats: ProduceStats, keep: bool
) -> None:
    metas = await asyncio.gather(*(f for f, _ in pending))
    if keep:
        for meta, (_, rec) in zip(metas, pending, strict=True):
            stats.records.append(
                SentRecord(rec.topic.value, meta.partition, meta.offset, rec.kind, rec.session,
                           rec.sim_id)
            )
    pending.clear()
