"""Prometheus metrics: the one registry per process, so the worker and the API each expose
what they did without a global that tests would share.

The names below are a contract with the Grafana dashboard (deploy/grafana/), the alert rules
(deploy/prometheus/) and docs/runbook.md ("Metrics"): renaming one is a changelog entry and an
edit of all three. ``tests/deploy`` fails when a dashboard or a rule queries a name that a real
worker does not serve. Labels stay low-cardinality: ``stage`` is ``normalise``/``apply``,
``topic`` is the logical name from topics.yaml (never the prefixed one), ``partition`` is
bounded by the partition count.

Instrumentation is one call per event from the shell (``Runtime``, the scans) or comes from
outside it (``processor.worker.telemetry``: a Faust sensor for records in and produce->commit
latency, the consumer lag and outbox backlog refreshed by the ops server's loop).
"""

from __future__ import annotations

import json
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from schemas.alerts import AlertType

__all__ = ["STAGES", "Lag", "WorkerMetrics", "aiokafka_lag"]

Lag = dict[tuple[str, int], int]  # (logical topic, partition) -> records not yet processed

STAGES = ("normalise", "apply")  # stage 1, stage 2 (schemas.dlq.Stage values)
_BATCH_SIZES = (1, 5, 10, 25, 50, 100, 200, 500, 1000, 2000)
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class _Produced(Protocol):  # read-only members: frozen dataclasses (OutboxRecord) qualify
    @property
    def topic(self) -> str: ...
    @property
    def value(self) -> bytes | None: ...  # None: a tombstone


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total
        self.inputs = Counter("chatstate_stage1_records_total", "Input records read", registry=r)
        self.forwarded = Counter(
            "chatstate_stage1_updates_total", "Session updates forwarded", registry=r
        )
        self.skipped = Counter(
            "chatstate_stage1_skipped_total",
            "Records skipped (heartbeats, untracked topics)",
            registry=r,
        )
        self.parked = Counter(
            "chatstate_stage1_parked_total",
            "Observations parked until their session is known",
            registry=r,
        )
        self.dead = Counter(
            "chatstate_dead_letters_total",
            "Records sent to chat.dlq",
            ["stage", "reason"],
            registry=r,
        )
        self.applied = Counter("chatstate_stage2_applied_total", "Updates applied", registry=r)
        self.replayed = Counter(
            "chatstate_stage2_replayed_total",
            "Updates skipped as replays (at or below the stored offset)",
            registry=r,
        )
        # --- per stage and topic (issue 16) ---------------------------------------------------
        self.records_in = Counter(
            "chatstate_records_in_total", "Records read, by stage and logical topic",
            ["stage", "topic"], registry=r,
        )
        self.records_out = Counter(
            "chatstate_records_out_total", "Records written to Kafka, by stage and logical topic",
            ["stage", "topic"], registry=r,
        )
        self.batch_size = Histogram(
            "chatstate_batch_size", "Records per batch", ["stage"], buckets=_BATCH_SIZES,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "chatstate_batch_seconds",
            "Time to carry out one batch (stage 1: forwarded and acknowledged; stage 2: applied "
            "and committed in PostgreSQL, outbox published)",
            ["stage"], buckets=_SECONDS, registry=r,
        )
        self.produce_to_commit = Histogram(
            "chatstate_produce_to_commit_seconds",
            "From a record's Kafka timestamp to its batch being done (acked) at this stage",
            ["stage"], buckets=_LATENCY, registry=r,
        )
        self.consumer_lag = Gauge(
            "chatstate_consumer_lag",
            "Records on an assigned partition not yet processed (highwater - next to process)",
            ["topic", "partition"], registry=r,
        )
        # Consumers other than Faust's (stage 1) add a coroutine function returning their lag.
        self.lag_sources: list[Callable[[], Awaitable[Lag]]] = []
        self._lag_series: set[tuple[str, str]] = set()
        self.alerts = Counter(
            "chatstate_alerts_total", "Alerts published to chat.alerts, by type", ["type"],
            registry=r,
        )
        self.retries = Counter(
            "chatstate_retries_total",
            "Writes retried because a server did not answer or refused (the stream stalls)",
            ["dependency"], registry=r,
        )
        self.stalled = Gauge(
            "chatstate_stalled",
            "1 while the stream is stalled waiting for a dependency (persistence degraded)",
            ["dependency"], registry=r,
        )
        self.scan_seconds = Histogram(
            "chatstate_scan_seconds", "Duration of one round of the leader's scans",
            buckets=_LATENCY, registry=r,
        )
        self.scan_items = Counter(
            "chatstate_scan_items_total", "Items a scan round acted on, by scan", ["scan"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "chatstate_outbox_backlog_records",
            "Committed outputs not yet published (outbox rows)", registry=r,
        )
        self.outbox_oldest = Gauge(
            "chatstate_outbox_oldest_seconds", "Age of the oldest unpublished outbox row",
            registry=r,
        )
        # The bounds under a flood of unmapped conversation ids (processor/worker/parked.py).
        self.parked_refused = Counter(
            "chatstate_parked_refused_total",
            "Observations dropped because the parked table was full (new conversations refused)",
            registry=r,
        )
        self.parked_index = Gauge(
            "chatstate_parked_index_conversations",
            "Conversations in this worker's in-memory index of parked ones (bounded)",
            registry=r,
        )
        self.unmapped_expired = Counter(
            "chatstate_unmapped_expired_total",
            "Unmapped conversations forgotten after CHATSTATE_UNMAPPED_RETENTION (rows deleted)",
            registry=r,
        )
        self.scan_alerts_aggregated = Counter(
            "chatstate_scan_alerts_aggregated_total",
            "Per-conversation scan alerts folded into one aggregate alert (over the round's cap)",
            ["type"],
            registry=r,
        )
        for stage in STAGES:  # every series exists from the start: a rate() of 0, not "no data"
            self.batch_size.labels(stage)
            self.batch_seconds.labels(stage)
            self.produce_to_commit.labels(stage)
        for kind in AlertType:
            self.alerts.labels(kind.value)
        for dependency in ("database", "kafka"):
            self.retries.labels(dependency)
            self.stalled.labels(dependency)

    def known_topics(self, inputs: Iterable[tuple[str, str]],
                     outputs: Iterable[tuple[str, str]]) -> None:
        """Create the (stage, topic) series up front, so panels and rules see zeros."""
        for stage, topic in inputs:
            self.records_in.labels(stage, topic)
        for stage, topic in outputs:
            self.records_out.labels(stage, topic)

    def stage1(self, read: int, forwarded: int, skipped: int, dead: int, parked: int,
               seconds: float | None = None) -> None:
        self.inputs.inc(read)
        self.forwarded.inc(forwarded)
        self.skipped.inc(skipped)
        self.parked.inc(parked)
        self.batch_size.labels("normalise").observe(read)
        if seconds is not None:
            self.batch_seconds.labels("normalise").observe(seconds)

    def stage2(self, read: int, applied: int, replayed: int, seconds: float) -> None:
        self.applied.inc(applied)
        self.replayed.inc(replayed)
        self.batch_size.labels("apply").observe(read)
        self.batch_seconds.labels("apply").observe(seconds)

    def produced(self, stage: str, records: Iterable[_Produced],
                 logical: Callable[[str], str], alerts_topic: str) -> None:
        """Count records Kafka acknowledged, by logical topic; alerts also by type (their JSON
        says it: alerts are few, the parse is nothing)."""
        for rec in records:
            self.records_out.labels(stage, logical(rec.topic)).inc()
            if rec.topic == alerts_topic:
                try:
                    kind = str(json.loads(rec.value or b"{}").get("type", "unknown"))
                except (ValueError, AttributeError):
                    kind = "unknown"
                self.alerts.labels(kind).inc()

    def read(self, stage: str, topics: Iterable[str]) -> None:
        """One record read at ``stage`` per logical topic name given."""
        for topic, n in Tally(topics).items():
            self.records_in.labels(stage, topic).inc(n)

    def set_lag(self, lag: Mapping[tuple[str, int], int]) -> None:
        """The lag of every partition this worker holds now; others' series are removed."""
        now = {(topic, str(partition)): value for (topic, partition), value in lag.items()}
        for labels, value in now.items():
            self.consumer_lag.labels(*labels).set(value)
        for labels in self._lag_series - now.keys():
            self.consumer_lag.remove(*labels)
        self._lag_series = set(now)

    def retry(self, dependency: str) -> None:
        self.retries.labels(dependency).inc()

    def watch_parked_index(self, size: Callable[[], float]) -> None:
        self.parked_index.set_function(size)

    def dead_letter(self, stage: str, reason: str) -> None:
        self.dead.labels(stage, reason).inc()
        self.records_out.labels(stage, "chat.dlq").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def aiokafka_lag(consumer: Any, logical_by_name: Mapping[str, str]) -> Lag:
    """Lag of an ``AIOKafkaConsumer``'s assigned partitions (highwater - position), keyed by
    logical topic: ``rt.metrics.lag_sources.append(lambda: aiokafka_lag(c, by_name))``."""
    out: Lag = {}
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is None or tp.topic not in logical_by_name:
            continue
        out[(logical_by_name[tp.topic], tp.partition)] = max(0, high - await consumer.position(tp))
    return out
