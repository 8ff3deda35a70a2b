"""The two yardsticks measured in the same run, on the same broker, database and records.

- *raw ceiling*: a plain aiokafka consumer that only reads and ``json.loads`` the records — what
  Python + this broker can do at all;
- *naive baseline*: a plain aiokafka consumer that writes one upsert per record with autocommit
  — the first attempt most people make, with none of chatstate's guarantees (no ordering by
  session, no replay safety, no lifecycle).

Both read exactly the records between ``start`` and ``end`` offsets, so the three figures
describe the same work."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from processor.kafka_security import KafkaSecurity

__all__ = ["RefResult", "naive_baseline", "raw_ceiling"]


@dataclass(frozen=True)
class RefResult:
    records: int
    seconds: float
    complete: bool  # False: stopped at the time cap before reading everything
    parse_errors: int = 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "seconds": round(self.seconds, 3),
                "eventsPerS": round(self.rate, 1), "complete": self.complete,
                "parseErrors": self.parse_errors}


async def _consumer(
    bootstrap: str, start: dict[TopicPartition, int], security: KafkaSecurity
) -> AIOKafkaConsumer:
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **security.client_options(),
        max_partition_fetch_bytes=4 * 2**20, fetch_max_bytes=32 * 2**20,
    )
    await c.start()
    c.assign(list(start))
    for tp, off in start.items():
        c.seek(tp, off)
    return c


def _psid(doc: Any) -> str | None:
    """Where a first attempt finds the session: the snapshot body, else customer attributes."""
    if not isinstance(doc, dict):
        return None
    doc = doc.get("detail", doc) if "topicName" not in doc else doc
    if isinstance(doc.get("persistentSessionId"), str):
        return str(doc["persistentSessionId"])
    body = doc.get("eventBody")
    if isinstance(body, dict):
        for p in body.get("participants") or []:
            attrs = p.get("attributes") or {}
            found = attrs.get("persistentSessionId") or attrs.get("context.persistentSessionId")
            if found:
                return str(found)
    return None


async def raw_ceiling(
    bootstrap: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int],
    max_s: float = 300.0, *, security: KafkaSecurity,
) -> RefResult:
    total = sum(end[tp] - start[tp] for tp in start)
    c = await _consumer(bootstrap, start, security)
    n = errors = 0
    t0 = time.monotonic()
    try:
        while n < total and time.monotonic() - t0 < max_s:
            batches = await c.getmany(timeout_ms=500, max_records=5000)
            for msgs in batches.values():
                for m in msgs:
                    try:
                        json.loads(m.value or b"")
                    except ValueError:
                        errors += 1
                    n += 1
    finally:
        await c.stop()
    return RefResult(n, time.monotonic() - t0, n >= total, errors)


NAIVE_TABLE = """
CREATE TABLE IF NOT EXISTS naive_sessions (
    record_key  text PRIMARY KEY,
    session_id  text,
    last_event  jsonb NOT NULL,
    events      integer NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL
)"""

NAIVE_UPSERT = """
INSERT INTO naive_sessions (record_key, session_id, last_event, updated_at)
VALUES ($1, $2, $3::jsonb, now())
ON CONFLICT (record_key) DO UPDATE
   SET session_id = coalesce(EXCLUDED.session_id, naive_sessions.session_id),
       last_event = EXCLUDED.last_event, events = naive_sessions.events + 1,
       updated_at = EXCLUDED.updated_at"""


async def naive_baseline(
    bootstrap: str, database_url: str, start: dict[TopicPartition, int],
    end: dict[TopicPartition, int], max_s: float = 120.0, *, security: KafkaSecurity,
) -> RefResult:
    """One autocommitted upsert per record (keyed by the Kafka key, the session id kept when
    found), in a table of its own in the run's database."""
    total = sum(end[tp] - start[tp] for tp in start)
    db = await asyncpg.connect(database_url)
    await db.execute(NAIVE_TABLE)
    c = await _consumer(bootstrap, start, security)
    n = errors = 0
    t0 = time.monotonic()
    try:
        while n < total and time.monotonic() - t0 < max_s:
            batches = await c.getmany(timeout_ms=500, max_records=500)
            for msgs in batches.values():
                for m in msgs:
                    raw = (m.value or b"").decode("utf-8", "replace")
                    try:
                        doc = json.loads(raw)
                    except ValueError:
                        errors += 1
                        n += 1
                        continue
                    key = (m.key or b"").decode() or f"{m.topic}:{m.partition}:{m.offset}"
                    await db.execute(NAIVE_UPSERT, key, _psid(doc), raw)
                    n += 1
    finally:
        await c.stop()
        await db.close()
    return RefResult(n, time.monotonic() - t0, n >= total, errors)
