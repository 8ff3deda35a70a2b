"""The worker's shell: opens the pool and the producer, carries out what stage 1 and stage 2
decide, and keeps the stream going whatever one record does.

Failures are classified (``processor.worker.failures``): a server that does not answer stalls
the partition loudly (one ``persistence_degraded`` alert per database outage) and nothing is
dead-lettered meanwhile; anything one record causes sends that record to ``chat.dlq`` and the
rest of its batch is applied. Nothing escapes to Faust, which would ack the batch anyway.

Named ``runtime`` on purpose (issue 18): it is the one object a running worker is — the pool,
the producer, the storage port and the publisher, with the retry and dead-letter policy around
them — that the Faust app (``app.py``), stage 1 (``stage1.py``) and the leader's timers
(``timers.py``) all drive. What it carries out lives beside it: the unit of work
(``unit_of_work.py``), the outbox (``outbox.py``, ``publish.py``), the storage port
(``storage.py``, ``pg_storage.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from processor.core.alert_status import resolved
from processor.core.internal_records import Decoded, decode, pack
from processor.core.lifecycle import LifecyclePolicy, alert
from processor.core.route import (
    Inbound,
    Parked,
    needs_mapping,
    parse_all,
    route,
    unpark,
)
from processor.core.scans import parked_overflow_alert
from processor.db import create_pool
from processor.dlq import build_dead_letter, runbook_anchor
from processor.kafka_security import KafkaSecurity
from processor.logs import get_logger
from processor.producer import make_producer
from processor.runbook_links import absolute_alert_records, runbook_url
from processor.settings import Settings
from processor.topics import Catalog
from processor.worker import sweep
from processor.worker.failures import (
    Classified,
    StillFailing,
    Stopping,
    classify,
    is_transient,
    isolate,
    pause,
)
from processor.worker.handoff import Handoff
from processor.worker.metrics import WorkerMetrics
from processor.worker.outbox import OutboxRecord
from processor.worker.parked import OverflowWatch, ParkedIndex
from processor.worker.pg_storage import PgStorage
from processor.worker.publish import Publisher
from processor.worker.storage import WorkerStorage
from processor.worker.unit_of_work import BatchItem, BatchOutcome, SessionStore
from schemas.alerts import RUNBOOK, Alert, AlertType, Severity
from schemas.commands import SessionUpdate
from schemas.dlq import DeadLetterInfo, DeadLetterReason, Stage

__all__ = ["UPDATE_INDEX_HEADER", "RawUpdate", "Runtime"]

T = TypeVar("T")

log = get_logger("chatstate.worker")

RawUpdate = tuple[str, int, int, bytes | None, bytes]  # topic, partition, offset, key, value
# One update of an internal record as stage 2 isolates it: where the record was, its key, and
# the decoded update (or why it could not be read).
Entry = tuple[str, int, int, bytes | None, Decoded]
# A failing write is retried this many times while the servers answer the probe before the
# record is blamed; the database's restarts and the broker's leader moves settle well within.
_HEALTHY_DB_RETRIES = 3
_HEALTHY_KAFKA_RETRIES = 5
# On a dead letter of one update of an internal record: its index in the record's batch.
UPDATE_INDEX_HEADER = "chatstate-update-index"


@dataclass(frozen=True)
class ToDeadLetter:
    """A record to send to ``chat.dlq``: where it came from, what failed, and why."""

    key: bytes | None
    value: bytes
    topic: str
    partition: int
    offset: int
    stage: Stage
    reason: DeadLetterReason
    detail: str
    headers: tuple[tuple[str, bytes], ...] = ()


class Runtime:
    def __init__(
        self,
        settings: Settings,
        kafka_bootstrap: str,
        database_url: str,
        *,
        storage: WorkerStorage | None = None,
        producer: AIOKafkaProducer | None = None,
    ) -> None:
        """``storage`` and ``producer`` are for tests of the shell (an in-memory storage, a fake
        producer); by default ``start()`` opens a pool (``PgStorage``) and a real producer."""
        self.settings = settings
        self.kafka_bootstrap = kafka_bootstrap
        self.kafka_security = KafkaSecurity.from_settings(settings)
        self.database_url = database_url
        self.catalog = Catalog.load(settings.topics_file, settings.topic_prefix)
        self.updates_topic = self.catalog.name("chatstate.session-updates")
        self.policy = LifecyclePolicy(
            ttl=settings.session_ttl,
            retention=settings.retention,
            require_issued=settings.require_issued_sessions,
            purge_after=settings.purge_after,
        )
        self.consumer_name = settings.app_id
        self.metrics = WorkerMetrics()
        self.mappings: dict[uuid.UUID, uuid.UUID] = {}  # conversation -> session (LRU-ish)
        # Bounded by count and age; only a hint (the leader's scan releases what it forgot).
        self.parked_here = ParkedIndex(
            settings.parked_max_conversations, settings.unmapped_retention
        )
        self.metrics.watch_parked_index(lambda: len(self.parked_here))
        self.parking_overflow = OverflowWatch()
        self._pool: asyncpg.Pool | None = None
        self._storage: WorkerStorage | None = storage
        self._own_storage = storage is None
        self._producer: AIOKafkaProducer | None = producer
        self._update_partitions: int | None = None  # of the internal topic, from the broker
        self.handoff = Handoff()  # stage 1 -> stage 2 in this process, skipping a decode
        self._lock = asyncio.Lock()
        self.degraded_since: float | None = None
        self.degraded_alert: Alert | None = None  # firing, until the database answers again
        self.stopping = False  # set on SIGTERM: retry loops give up, the batch stays unacked

    # -- resources -----------------------------------------------------------------------------

    async def start(self) -> None:
        async with self._lock:
            if self._producer is None:
                producer = make_producer(
                    self.kafka_bootstrap, self.kafka_security, linger_ms=1,
                    max_batch_size=256 * 1024,
                )
                try:
                    await producer.start()
                except BaseException:
                    with contextlib.suppress(Exception):  # the start's error is the one to see
                        await producer.stop()  # a half-started client still holds connections
                    raise
                self._producer = producer
            if self._own_storage and self._pool is None:
                self._pool = await self._retrying(
                    lambda: create_pool(
                        self.database_url, min_size=2, max_size=8, command_timeout=30
                    )
                )
                self._storage = PgStorage(
                    SessionStore(
                        self._pool,
                        consumer=self.consumer_name,
                        policy=self.policy,
                        sessions_topic=self.catalog.name("chat.sessions"),
                        alerts_topic=self.catalog.name("chat.alerts"),
                        max_record_bytes=self.settings.max_record_bytes,
                        agent_context_topic=self.catalog.name("chat.agent-context"),
                    )
                )

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
            self._storage = None

    def request_stop(self) -> None:
        """SIGTERM: every retry loop gives up within a fraction of a second (the batch it was
        retrying stays unacked and is read again by whoever owns the partition next)."""
        self.stopping = True

    async def healthy(self) -> bool:
        """Do the database and the broker answer? Only then is a repeated failure blamed on
        the record; during an outage nothing is dead-lettered."""
        return await self.database_healthy() and await self.broker_healthy()

    async def database_healthy(self) -> bool:
        return self._storage is not None and await self._storage.ping()

    async def broker_healthy(self) -> bool:
        try:
            if self._producer is None:
                await asyncio.wait_for(self.start(), 5)
            producer = self._producer
            if producer is None:
                return False
            await asyncio.wait_for(producer.client.fetch_all_metadata(), 5)
        except Exception:
            return False
        return True

    @property
    def pool(self) -> asyncpg.Pool:
        """The pool behind ``PgStorage`` (the scans of issue 17 still query it directly)."""
        assert self._pool is not None, "Runtime.start() first"
        return self._pool

    @property
    def storage(self) -> WorkerStorage:
        assert self._storage is not None, "Runtime.start() first"
        return self._storage

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "Runtime.start() first"
        return self._producer

    @property
    def publisher(self) -> Publisher:
        return Publisher(self.producer, self.catalog.name("chat.dlq"))

    # -- stage 1 -------------------------------------------------------------------------------

    async def stage1(self, records: Sequence[Inbound]) -> None:
        """Normalise a batch and forward it; returns only when every record is forwarded,
        parked or dead-lettered and Kafka acknowledged all of it (then the caller acks)."""
        self.metrics.read("normalise", (r.logical for r in records))
        await isolate(
            records,
            self._stage1_batch,
            self._dead_input,
            self.healthy,
            lambda: self.stopping,
            stage="stage 1",
            content_reason=DeadLetterReason.PARSER_ERROR,
        )

    async def _dead_input(self, rec: Inbound, why: Classified) -> None:
        await self.dead_letter(
            rec.key, rec.value, rec.topic, rec.partition, rec.offset, Stage.NORMALISE,
            why.reason, why.detail, headers=rec.headers,
        )

    async def _stage1_batch(self, records: Sequence[Inbound]) -> None:
        await self.start()
        started = time.perf_counter()
        parsed = parse_all(records, region=self.settings.pii_default_region)
        missing = needs_mapping(parsed, self.mappings)
        if missing:
            found = await self._retrying(lambda: self.storage.mappings(missing))
            self.mappings.update(found)
        now = datetime.now(UTC)
        routed = route(records, parsed, self.mappings, now)
        self._remember(routed.learned)

        # Conversations this worker parked and this batch maps: their parked events go first,
        # fetched in one query for the whole batch.
        to_release = list(dict.fromkeys(
            obs.conversation_id
            for u in routed.updates
            if (obs := getattr(u.command, "observation", None)) is not None
            and obs.conversation_id in self.parked_here
        ))
        held = (
            await self._retrying(partial(self.storage.parked, to_release)) if to_release else {}
        )
        updates: list[SessionUpdate] = []
        released: list[uuid.UUID] = []
        for u in routed.updates:
            obs = getattr(u.command, "observation", None)
            if obs is not None and obs.conversation_id in held:
                updates.extend(unpark(held.pop(obs.conversation_id), u.persistent_session_id))
                released.append(obs.conversation_id)
            updates.append(u)
        await self.produce_updates(updates)
        if released:
            await self._retrying(partial(self.storage.release, released))
        self.parked_here.difference_update(to_release)  # released, or gone already
        if routed.parked:
            await self._retrying(lambda: self._park(routed.parked))
        await self.dead_letters(
            [
                ToDeadLetter(
                    rec.key, rec.value, rec.topic, rec.partition, rec.offset,
                    Stage.NORMALISE, DeadLetterReason(reason), detail, rec.headers,
                )
                for rec, reason, detail in routed.dead
            ]
        )
        if routed.pii_rejected:
            await self.emit_alerts(
                [
                    alert(
                        AlertType.PII_DETECTED,
                        Severity.WARNING,
                        "a snapshot carried PII where policy rejects it; it was dead-lettered",
                        f"pii_detected:rejected:{psid}:{','.join(sorted(f.path for f in found))}",
                        now,
                        persistent_session_id=psid,
                        details={"findings": [{"path": f.path, "kind": f.kind} for f in found]},
                    )
                    for psid, found in routed.pii_rejected
                ]
            )
        self.metrics.stage1(
            len(records),
            len(updates),
            sum(routed.skipped.values()),
            len(routed.dead),
            len(routed.parked),
            seconds=time.perf_counter() - started,
        )

    def _remember(self, learned: dict[uuid.UUID, uuid.UUID]) -> None:
        self.mappings.update(learned)
        if len(self.mappings) > 200_000:  # bounded: mappings never change, so dropping is safe
            for key in list(self.mappings)[:50_000]:
                del self.mappings[key]

    async def _park(self, parked: Sequence[Parked]) -> None:
        """Park within the table's bound and note what was parked in ``parked_here``; what a
        full table refuses is counted, and alerted once per episode (``parked_overflow``)."""
        limit = self.settings.parked_max_conversations
        outcome = await self.storage.park(parked, limit)
        self.parked_here.update(outcome.admitted)
        self.metrics.parked_refused.inc(outcome.refused_observations)
        now = datetime.now(UTC)
        started = self.parking_overflow.observe(
            outcome.refused_conversations, outcome.used, limit, now
        )
        if not started:
            return
        log.warning(
            "parked table full; events of new unmapped conversations are dropped",
            limit=limit,
            refused_conversations=outcome.refused_conversations,
        )
        try:
            await self.emit_alerts(
                [
                    parked_overflow_alert(
                        self.consumer_name, now, limit, outcome.refused_conversations
                    )
                ]
            )
        except BaseException:
            self.parking_overflow.since = None  # not alerted: the next refusal tries again
            raise

    async def produce_updates(self, updates: Sequence[SessionUpdate]) -> None:
        """Forward updates as version-2 internal records (``schemas/updates.py``): one record per
        destination partition (more only past the size cap), produced to an explicit partition
        computed like Kafka's default partitioner, all acknowledged before this returns."""
        if not updates:
            return
        partitions = await self.update_partitions()
        records = pack(updates, partitions, self.updates_topic, self.settings.max_record_bytes)

        async def send() -> None:
            futures = [
                await self.producer.send(
                    self.updates_topic, r.value, key=r.key, partition=r.partition
                )
                for r in records
            ]
            for r, meta in zip(records, await asyncio.gather(*futures), strict=True):
                self.handoff.keep(self.updates_topic, r.partition, meta.offset, r.value, r.updates)

        await self.kafka(send)

    async def update_partitions(self) -> int:
        """The internal topic's partition count as the broker has it (topics.yaml's otherwise):
        the stage-2 agents own partitions, so the hash must use the real count."""
        if self._update_partitions is None:
            found: set[int] | None = None
            with contextlib.suppress(KafkaError, OSError):
                found = await asyncio.wait_for(
                    self.producer.partitions_for(self.updates_topic), 10
                )
            self._update_partitions = (
                len(found)
                if found
                else self.catalog.topics["chatstate.session-updates"].partitions
            )
        return self._update_partitions

    async def kafka(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run a Kafka write until it succeeds; the stream stalls meanwhile (nothing is acked).

        After a broker restart aiokafka's idempotent producer can be left broken for good
        (OutOfOrderSequenceNumber is fatal to a producer, as in Kafka's own client), so a failed
        write replaces the producer before the retry. An idempotent producer also never expires a
        batch while it still knows a leader, and a writer's records may be in flight on a
        producer another writer has just replaced; so each attempt is bounded by
        ``kafka_write_timeout_s`` and then counts as failed. Both stages and the scans share the
        producer: only the producer the failed attempt used is replaced (a second failure on it
        finds it replaced already). A repeat of what did get through is harmless: downstream,
        the same update or record twice is a no-op."""
        delay, healthy_failures = 0.2, 0
        while True:
            if self.stopping:
                raise Stopping
            used: AIOKafkaProducer | None = None
            try:
                if self._producer is None:
                    await self.start()
                used = self._producer
                return await asyncio.wait_for(op(), self.settings.kafka_write_timeout_s)
            except (KafkaError, OSError) as exc:  # TimeoutError is an OSError
                if classify(exc).reason is DeadLetterReason.OUTPUT_TOO_LARGE:
                    raise  # the record's fault: retrying cannot help
                self.metrics.retry("kafka")
                await self._replace_producer(used)
                if await self.broker_healthy():
                    # The broker answers, yet the write fails: after a few tries the record
                    # is blamed (a leader move or a fenced producer settles well before).
                    healthy_failures += 1
                    if healthy_failures >= _HEALTHY_KAFKA_RETRIES:
                        raise StillFailing(exc) from exc
                log.warning(
                    "Kafka write failed; replacing the producer and retrying",
                    error=type(exc).__name__,
                    retry_in_s=round(delay, 2),
                )
                await pause(delay, lambda: self.stopping)
                delay = min(delay * 2, 5.0)

    async def _replace_producer(self, failed: AIOKafkaProducer | None) -> None:
        """Drop the producer a write failed on, unless it was replaced already; the next
        ``kafka()`` attempt starts a new one. Its ``stop()`` (a flush) gets 5 s: with the
        broker gone it would wait for it, and what it still held is sent again by the writers'
        retries (a flush once the broker is back would deliver it a second time)."""
        if failed is None or self._producer is not failed:
            return
        old, self._producer = self._producer, None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.stop(), 5)

    # -- stage 2 -------------------------------------------------------------------------------

    def entries(self, raw: Sequence[RawUpdate]) -> list[Entry]:
        """Every update of every record, in order, each with its place in its record (taken
        from stage 1's hand-off when this process produced the record, else decoded)."""
        out: list[Entry] = []
        for topic, partition, offset, key, value in raw:
            held = self.handoff.take(topic, partition, offset, value)
            decoded = (
                decode(value)
                if held is None
                else [Decoded(i, len(held), u, b"") for i, u in enumerate(held)]
            )
            out.extend((topic, partition, offset, key, d) for d in decoded)
        return out

    async def stage2(self, raw: Sequence[RawUpdate]) -> None:
        """Apply a batch of internal records; returns once every update in them is committed in
        PostgreSQL or dead-lettered alone (its position skipped), and the outbox is published.
        The isolation works on updates, not records: one bad update of a record is found and
        dead-lettered by itself, its neighbours applied."""
        await isolate(
            self.entries(raw),
            self._stage2_batch,
            self._dead_update,
            self.healthy,
            lambda: self.stopping,
            stage="stage 2",
            content_reason=DeadLetterReason.LIFECYCLE_ERROR,
        )

    async def _dead_update(self, entry: Entry, why: Classified) -> None:
        await self._dead_entry(entry, why.reason, why.detail)

    async def _dead_entry(self, entry: Entry, reason: DeadLetterReason, detail: str) -> None:
        topic, partition, offset, key, d = entry
        value = d.raw or (d.update.to_json_bytes() if d.update is not None else b"")
        await self.dead_letter(
            key, value, topic, partition, offset, Stage.APPLY, reason, detail,
            headers=[(UPDATE_INDEX_HEADER, str(d.index).encode())],
        )
        after = (offset + 1, 0) if d.last else (offset, d.index + 1)
        await self._retrying(partial(self.storage.skip, topic, partition, after))

    async def _stage2_batch(self, entries: Sequence[Entry]) -> BatchOutcome:
        await self.start()
        items = [
            BatchItem(t, p, o, d.update, k, b"", d.index, d.count)
            for t, p, o, k, d in entries
            if d.update is not None
        ]
        started = time.perf_counter()
        storage = self.storage
        outcome = await self._retrying(lambda: storage.apply(items))
        self.metrics.stage2(
            len(entries), outcome.applied, outcome.replayed, time.perf_counter() - started
        )
        for entry in entries:
            if entry[4].update is None:
                await self._dead_entry(entry, DeadLetterReason.INVALID_UPDATE, entry[4].error)
        for dead in outcome.dead:
            i = dead.item
            await self.dead_letter(
                i.key, i.update.to_json_bytes(), i.topic, i.partition, i.offset, Stage.APPLY,
                DeadLetterReason(dead.reason), dead.detail,
                headers=[(UPDATE_INDEX_HEADER, str(i.index).encode())],
            )
        await self.publish(outcome.outbox)
        return outcome

    async def publish(
        self, records: Sequence[OutboxRecord], *, wait_for_database: bool = True
    ) -> None:
        """Produce committed outbox records, then forget them. Kafka and the database each
        fail in their own loop, so an outage is seen for what it is (a database one raises
        ``persistence_degraded``; a Kafka one replaces the producer). Without
        ``wait_for_database`` a database error propagates instead (a scan skips its round)."""
        if not records:
            return
        alerts_topic = self.catalog.name("chat.alerts")
        records = absolute_alert_records(records, self.settings.runbook_base_url, alerts_topic)
        await self.kafka(lambda: self.publisher.produce(records))  # the current producer
        self.metrics.produced("apply", records, self._logical, alerts_topic)
        forget = partial(self.storage.forget, records)
        await (self._retrying(forget) if wait_for_database else forget())

    async def sweep_outbox(self) -> int:
        """Publish what a crashed worker committed but never sent, and forget without sending
        what it sent but never forgot (``sweep.py`` reads the topics to tell them apart; a read
        that fails or is cut short sends, as at-least-once allows). Part of a scan: a database
        error skips the round."""
        records = await self.storage.left_behind(10.0, 2000)
        if not records:
            return 0
        try:
            verdict = await sweep.on_kafka(
                records, self.producer, self.kafka_bootstrap, self.kafka_security
            )
        except Exception as exc:
            if not await self.broker_healthy():
                raise  # nothing can be sent either: the round is skipped, the next reads again
            # The broker answers yet the read fails (a consumer ACL, say): a re-send is
            # harmless (deduped by id), never sending them is not.
            log.warning("outbox sweep: could not read the topics; re-sending",
                        error=type(exc).__name__, records=len(records))
            verdict = sweep.Verdict([], [], list(records))
        if verdict.unsure:
            log.warning("outbox sweep: read bound hit; re-sending what it did not find",
                        records=len(verdict.unsure))
        log.info("outbox sweep", already_sent=len(verdict.on_kafka),
                 never_sent=len(verdict.missing), unsure=len(verdict.unsure))
        await self.storage.forget(verdict.on_kafka)
        await self.publish(verdict.to_send, wait_for_database=False)
        return len(records)

    async def _retrying(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run a storage operation until it succeeds; the stream stalls meanwhile (nothing is
        acked). After a few failures, one ``persistence_degraded`` alert goes out."""
        delay, failures, healthy_failures = 0.2, 0, 0
        while True:
            if self.stopping:
                raise Stopping
            try:
                result = await op()
            except Exception as exc:
                if not is_transient(exc):
                    raise  # the record's fault or a bug: the batch's isolation decides
                self.metrics.retry("database")
                if await self.database_healthy():
                    # The database answers a probe, yet this keeps failing (a statement that
                    # times out on this record, say): retried a few times, then blamed.
                    healthy_failures += 1
                    if healthy_failures >= _HEALTHY_DB_RETRIES:
                        raise StillFailing(exc) from exc
                    await pause(delay, lambda: self.stopping)
                    delay = min(delay * 2, 5.0)
                    continue
                failures += 1
                if self.degraded_since is None:
                    self.degraded_since = time.monotonic()
                log.warning(
                    "database unavailable; retrying",
                    error=type(exc).__name__,
                    attempt=failures,
                    retry_in_s=round(delay, 2),
                )
                if failures == 5:
                    await self._degraded_alert(type(exc).__name__)
                await pause(delay, lambda: self.stopping)
                delay = min(delay * 2, 5.0)
                if self._storage is not None and failures % 5 == 0:
                    await self._storage.reset()
                continue
            if self.degraded_since is not None:
                log.info(
                    "database back; processing resumed",
                    outage_s=round(time.monotonic() - self.degraded_since, 1),
                )
                self.degraded_since = None
                if self.degraded_alert is not None:  # the condition ended: told resolved
                    await self._degraded_alert("", ending=self.degraded_alert)
            return result

    def _logical(self, topic: str) -> str:
        return topic.removeprefix(self.catalog.prefix)

    async def _degraded_alert(self, error: str, *, ending: Alert | None = None) -> None:
        """Straight to Kafka: the alert log and the outbox live in the database that is down.
        With ``ending``: the outage is over, told as that alert's ``resolved``."""
        started = datetime.now(UTC)
        a = alert(
            AlertType.PERSISTENCE_DEGRADED,
            Severity.CRITICAL,
            "PostgreSQL is unreachable; chatstate has paused applying updates (nothing is lost)",
            f"persistence_degraded:{self.consumer_name}:{started.isoformat()}",
            started,
            details={"error": error, "worker": self.consumer_name},
        ) if ending is None else resolved(
            AlertType.PERSISTENCE_DEGRADED, ending.dedup_key, started,
            "PostgreSQL answers again")
        self.degraded_alert = a if ending is None else None
        a = a.model_copy(update={"runbook": runbook_url(a.runbook, self.settings.runbook_base_url)})
        try:
            await self.producer.send_and_wait(
                self.catalog.name("chat.alerts"), a.to_json_bytes(), key=a.subject.encode()
            )
            self.metrics.alerts.labels(a.type.value).inc()
        except Exception as exc:
            log.error("could not send persistence_degraded alert", error=type(exc).__name__)

    # -- shared --------------------------------------------------------------------------------

    async def emit_alerts(self, alerts: Sequence[Alert]) -> None:
        """Alerts outside a session transaction (scans, stage 1): logged once, then published."""
        if not alerts:
            return

        records = await self._retrying(partial(self.storage.record_alerts, alerts))
        await self.publish(records)

    async def dead_letter(
        self,
        key: bytes | None,
        value: bytes,
        topic: str,
        partition: int,
        offset: int,
        stage: Stage,
        reason: DeadLetterReason,
        detail: str,
        *,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Send one record to ``chat.dlq`` (see :meth:`dead_letters`)."""
        await self.dead_letters(
            [ToDeadLetter(key, value, topic, partition, offset, stage, reason, detail,
                          tuple(headers))]
        )

    async def dead_letters(self, records: Sequence[ToDeadLetter]) -> None:
        """Send records to ``chat.dlq``, redacted (and their originals encrypted when a key is
        configured), then alert. Each dead letter is capped below the broker's record size, so
        writing it can never be the next thing that fails forever. A batch's dead letters go in
        one produce round and one alert transaction (one round trip each per record was stage
        1's largest cost on traffic with a few bad records per batch)."""
        if not records:
            return
        now = datetime.now(UTC)
        key_setting = self.settings.dlq_encryption_key
        built = [
            build_dead_letter(
                r.key,
                r.value,
                r.headers,
                DeadLetterInfo(
                    source_topic=r.topic,
                    source_partition=r.partition,
                    source_offset=r.offset,
                    stage=r.stage,
                    reason=r.reason,
                    detail=r.detail,
                    failed_at=now,
                ),
                encryption_key=key_setting.get_secret_value() if key_setting else None,
                max_bytes=self.settings.max_record_bytes,
                region=self.settings.pii_default_region,
            )
            for r in records
        ]
        await self.kafka(lambda: self.publisher.produce_dead_letters(built))
        for r in records:
            self.metrics.dead_letter(r.stage, r.reason)
            log.warning(
                "dead-lettered a record",
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                stage=r.stage,
                reason=r.reason,
            )
        await self.emit_alerts(
            [
                alert(
                    AlertType.DEAD_LETTER,
                    Severity.WARNING,
                    f"records could not be processed at stage {r.stage} ({r.reason}); "
                    "see chat.dlq",
                    f"dead_letter:{r.stage}:{r.reason}:{now:%Y-%m-%dT%H}",
                    now,
                    details={
                        "stage": r.stage.value,
                        "reason": r.reason.value,
                        "firstSource": f"{r.topic}:{r.partition}:{r.offset}",
                    },
                ).model_copy(
                    update={"runbook": RUNBOOK.format(anchor=runbook_anchor(r.reason))}
                )
                for r in records
            ]
        )
