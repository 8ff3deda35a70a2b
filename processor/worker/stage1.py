"""Stage 1 as a plain aiokafka consumer group, inside the ``chatstate worker`` process.

Why not a Faust agent (issue 14): a Faust agent that only acks takes ~4,000-6,300 records/s on
the 2-core dev machine, an aiokafka ``getmany`` loop ~200,000. Stage 1 keeps no per-session
state (it is keyed by conversation), so it needs nothing of Faust; the agents that own each
persistent session stay Faust's (``processor/worker/app.py``).

The loop: ``getmany`` a batch, hand it to ``Runtime.stage1`` (normalise, route, produce, park,
dead-letter, with the failure isolation of ``processor/worker/failures.py``), and commit the
input offsets only once that returned, i.e. once the broker acknowledged everything forwarded
(at-least-once; the lifecycle absorbs a repeat). A rebalance waits for the batch in flight, so
a partition is handed over only after its processed records are committed. On SIGTERM the
batch in flight gives up (``Stopping``), stays uncommitted and is read again.

Group id: ``<CHATSTATE_APP_ID>.stage1`` (:func:`stage1_group`). The Faust agents keep the group
``CHATSTATE_APP_ID`` for the internal topic; the two cannot share one group (different
assignors). A partition the stage-1 group never committed starts where the Faust stage 1 of an
older release left it (its committed offset in ``CHATSTATE_APP_ID``), so an upgrade does not
re-read the input topics from the beginning.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from processor.core.route import Inbound
from processor.logs import get_logger
from processor.worker.failures import Stopping
from processor.worker.metrics import aiokafka_lag
from processor.worker.runtime import Runtime

__all__ = ["Stage1", "stage1_group"]

log = get_logger("chatstate.worker")

# Fetch settings: a batch is up to ``batch_max`` records, whatever is buffered when getmany
# is called; the fetcher prefetches up to 1 MB per partition meanwhile (2 MB and 16 MB in all
# gave no more throughput and ~10 MB more RSS while draining a backlog).
_FETCH_MAX_BYTES = 8 * 1024 * 1024
_PARTITION_FETCH_BYTES = 1024 * 1024
_POLL_MS = 200


Record: TypeAlias = "ConsumerRecord[bytes, bytes]"  # no deserializers: bytes as read


def stage1_group(app_id: str) -> str:
    return f"{app_id}.stage1"


class Stage1(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, rt: Runtime, logical_by_name: Mapping[str, str]) -> None:
        self.rt = rt
        self.logical_by_name = dict(logical_by_name)
        self.group_id = stage1_group(rt.settings.app_id)
        self._busy = asyncio.Lock()  # held while a batch is processed and committed
        self._closing = False
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._legacy: dict[TopicPartition, int] | None = None

    async def start(self) -> None:
        security = self.rt.kafka_security.client_options()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.rt.kafka_bootstrap,
            group_id=self.group_id,
            client_id=f"{self.rt.settings.app_id}-stage1",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.rt.settings.batch_max,
            fetch_max_bytes=_FETCH_MAX_BYTES,
            max_partition_fetch_bytes=_PARTITION_FETCH_BYTES,
            # As the Faust agents: a SIGKILLed worker's partitions move after 10 s by default.
            session_timeout_ms=int(self.rt.settings.group_session_timeout_s * 1000),
            heartbeat_interval_ms=int(self.rt.settings.group_heartbeat_interval_s * 1000),
            **security,
        )
        consumer.subscribe(topics=list(self.logical_by_name), listener=self)
        await consumer.start()
        self._consumer = consumer
        self.rt.metrics.lag_sources.append(lambda: aiokafka_lag(consumer, self.logical_by_name))
        self._task = asyncio.create_task(self._run(), name="chatstate-stage1")

    async def stop(self) -> None:
        """Finish (or give up) the batch in flight, then leave the group. Both waits are
        bounded so SIGTERM ends the worker within 10 s even with a server away: a batch cut
        short is not committed and is read again; a group not left expires its member."""
        self._closing = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            if not self._task.done():
                self._task.cancel()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._consumer.stop(), 3)
            self._consumer = None

    # -- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not (self._closing or self.rt.stopping):
            try:
                batch = await self._fill(consumer)
            except KafkaError as exc:
                log.warning("stage 1 fetch failed; retrying", error=type(exc).__name__)
                await asyncio.sleep(1)
                continue
            if not batch:
                continue
            async with self._busy:
                try:
                    await self._process(consumer, batch)
                except Stopping:
                    return  # shutting down: nothing committed, the batch is read again
                except Exception:
                    # isolate() lets nothing but Stopping through; should a bug do so, the
                    # batch is read again rather than skipped.
                    log.exception("stage 1 batch failed; reading it again")
                    for tp, msgs in batch.items():
                        with contextlib.suppress(IllegalStateError):
                            consumer.seek(tp, msgs[0].offset)
                    await asyncio.sleep(1)

    async def _fill(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, list[Record]]:
        """Up to ``batch_max`` records: what is buffered, then more for at most
        ``batch_within_s`` while the batch is not full. ``getmany`` alone returns one fetch
        response's worth (~200 records in the bench), and stage 1's fixed costs per batch (a
        produce round, an offset commit, a mapping query) are then paid that often."""
        limit = self.rt.settings.batch_max
        batch: dict[TopicPartition, list[Record]] = await consumer.getmany(
            timeout_ms=_POLL_MS, max_records=limit
        )
        n = sum(len(v) for v in batch.values())
        loop = asyncio.get_running_loop()
        until = loop.time() + self.rt.settings.batch_within_s
        while batch and n < limit and (left := until - loop.time()) > 0:
            more = await consumer.getmany(timeout_ms=int(left * 1000), max_records=limit - n)
            if not more:
                break
            for tp, msgs in more.items():
                batch.setdefault(tp, []).extend(msgs)
                n += len(msgs)
        return batch

    async def _process(
        self, consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, list[Record]]
    ) -> None:
        assigned = consumer.assignment()
        owned = {tp: msgs for tp, msgs in batch.items() if tp in assigned and msgs}
        records = [
            Inbound(
                self.logical_by_name[tp.topic],
                tp.topic,
                tp.partition,
                m.offset,
                m.key,
                m.value or b"",
                tuple((str(k), bytes(v or b"")) for k, v in m.headers or ()),
            )
            for tp, msgs in owned.items()
            for m in msgs
        ]
        await self.rt.stage1(records)
        offsets = {tp: msgs[-1].offset + 1 for tp, msgs in owned.items()}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved the partitions on: their new owner reads these records again.
            log.warning("stage 1 commit refused after a rebalance", error=type(exc).__name__)

    # -- rebalances ----------------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Hand partitions over only after the batch in flight is committed (or given up)."""
        async with self._busy:
            pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Partitions this group never committed start where an older release's Faust stage 1
        (group ``CHATSTATE_APP_ID``) committed them, if it did."""
        consumer = self._consumer
        if consumer is None or not assigned:
            return
        try:
            fresh = [tp for tp in assigned if await consumer.committed(tp) is None]
            if not fresh:
                return
            legacy = await self._legacy_offsets()
            for tp in fresh:
                if tp in legacy:
                    consumer.seek(tp, legacy[tp])
        except (KafkaError, OSError, IllegalStateError) as exc:
            log.warning("could not read committed offsets", error=type(exc).__name__)

    async def _legacy_offsets(self) -> dict[TopicPartition, int]:
        if self._legacy is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.rt.kafka_bootstrap,
                **self.rt.kafka_security.client_options(),
            )
            await admin.start()
            try:
                got = await admin.list_consumer_group_offsets(self.rt.settings.app_id)
            finally:
                await admin.close()
            self._legacy = {
                tp: meta.offset
                for tp, meta in got.items()
                if meta.offset >= 0 and tp.topic in self.logical_by_name
            }
        return self._legacy
