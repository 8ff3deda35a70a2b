"""Where a run stands, read from the outside: Kafka end offsets, the stage-1 group's committed
input offsets (``<app id>.stage1``), and the positions stage 2 committed in PostgreSQL together
with its rows.

"Applied" means ``sum(next_offset)`` in ``consumer_positions`` for the internal topic: stage 2
writes it in the same transaction as the rows, so it counts exactly what is durable. It counts
internal *records* fully applied (a position inside a record, ``next_index > 0``, counts the
record as not yet applied), as the internal topic's end offsets do."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from processor.bench.space import RunSpace
from processor.worker.stage1 import stage1_group

__all__ = ["INPUTS", "INTERNAL", "Probe", "Sample"]

INPUTS = ("genesys.conversations", "chat.snapshots", "chat.session-commands")
INTERNAL = "chatstate.session-updates"


@dataclass(frozen=True)
class Sample:
    t: float  # time.time()
    input_end: int
    stage1_committed: int
    internal_end: int
    applied: int

    @property
    def lag(self) -> int:
        return (self.input_end - self.stage1_committed) + (self.internal_end - self.applied)

    def as_dict(self) -> dict[str, Any]:
        return {"t": self.t, "inputEnd": self.input_end, "stage1Committed": self.stage1_committed,
                "internalEnd": self.internal_end, "applied": self.applied, "lag": self.lag}


class Probe:
    def __init__(self, space: RunSpace, consumer: str) -> None:
        self.space = space
        self.consumer = consumer  # CHATSTATE_APP_ID: the group id and the positions' consumer
        self._admin: AIOKafkaAdminClient | None = None
        self._kafka: AIOKafkaConsumer | None = None
        self._db: asyncpg.Connection | None = None
        self.partitions: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        security = self.space.security.client_options()
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.space.kafka_bootstrap, **security)
        await self._admin.start()
        self._kafka = AIOKafkaConsumer(bootstrap_servers=self.space.kafka_bootstrap,
                                       enable_auto_commit=False, **security)
        await self._kafka.start()
        for logical in (*INPUTS, INTERNAL):
            name = self.space.topic(logical)
            n = self.space.catalog.topics[logical].partitions
            self.partitions[logical] = [TopicPartition(name, p) for p in range(n)]
        self._db = await asyncpg.connect(self.space.database_url)

    async def stop(self) -> None:
        for closer in (self._admin.close() if self._admin else None,
                       self._kafka.stop() if self._kafka else None,
                       self._db.close() if self._db else None):
            if closer is not None:
                with contextlib.suppress(Exception):  # best effort on the way out
                    await closer

    async def end_offsets(self, logicals: tuple[str, ...]) -> dict[TopicPartition, int]:
        assert self._kafka is not None
        tps = [tp for lg in logicals for tp in self.partitions[lg]]
        return dict(await self._kafka.end_offsets(tps))

    async def group_committed(self) -> dict[TopicPartition, int]:
        assert self._admin is not None
        try:
            got = await self._admin.list_consumer_group_offsets(stage1_group(self.consumer))
        except Exception:
            return {}
        return {tp: meta.offset for tp, meta in got.items() if meta.offset >= 0}

    async def applied(self) -> int:
        try:
            return int(await self._fetchval(
                "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions "
                "WHERE consumer = $1 AND topic = $2",
                self.consumer, self.space.topic(INTERNAL)))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self._db = None  # the database is away (a fault drill): reconnect next time
            return -1

    async def applied_by_partition(self) -> dict[int, int] | None:
        try:
            if self._db is None or self._db.is_closed():
                self._db = await asyncpg.connect(self.space.database_url, timeout=5)
            rows = await self._db.fetch(
                "SELECT partition, next_offset FROM consumer_positions "
                "WHERE consumer = $1 AND topic = $2", self.consumer, self.space.topic(INTERNAL))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self._db = None
            return None
        return {r["partition"]: r["next_offset"] for r in rows}

    async def parked(self) -> set[str] | None:
        """Source ids stage 1 parked because their conversation had no known session yet;
        the leader's scan (or a later event carrying the id) releases them."""
        try:
            if self._db is None or self._db.is_closed():
                self._db = await asyncpg.connect(self.space.database_url, timeout=5)
            rows = await self._db.fetch(
                "SELECT o->>'sourceId' AS s FROM unmapped_conversations, "
                "jsonb_array_elements(observations) AS o")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self._db = None
            return None
        return {r["s"] for r in rows}

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        if self._db is None or self._db.is_closed():
            self._db = await asyncpg.connect(self.space.database_url, timeout=5)
        return await self._db.fetchval(sql, *args)

    async def sample(self) -> Sample:
        ends = await self.end_offsets((*INPUTS, INTERNAL))
        committed = await self.group_committed()
        inputs = {tp for lg in INPUTS for tp in self.partitions[lg]}
        internal = set(self.partitions[INTERNAL])
        return Sample(
            t=time.time(),
            input_end=sum(v for tp, v in ends.items() if tp in inputs),
            stage1_committed=sum(v for tp, v in committed.items() if tp in inputs),
            internal_end=sum(v for tp, v in ends.items() if tp in internal),
            applied=await self.applied(),
        )

    async def latencies(self, since_ns: int) -> list[tuple[float, float]]:
        """(committed_at epoch s, produce→commit ms) for snapshots stamped at or after
        ``since_ns``: the database's commit clock minus the producer's send clock (one host)."""
        assert self._db is not None
        rows = await self._db.fetch(
            """SELECT extract(epoch FROM committed_at)::float8 AS committed,
                      (state->>'benchSentAt')::bigint AS sent
                 FROM snapshots
                WHERE state ? 'benchSentAt' AND (state->>'benchSentAt')::bigint >= $1""",
            since_ns,
        )
        return sorted((r["committed"], (r["committed"] * 1e9 - r["sent"]) / 1e6) for r in rows)
