"""What the worker's metrics learn from outside the runtime's batch code: stage 2's records
in, produce->commit latency and acked offsets (a Faust sensor), consumer lag per partition and
the outbox backlog (refreshed every few seconds by a task beside the ops server).

Lag is highwater minus the next offset the worker has yet to finish: for stage 2, the offset
after the last one acked (acks come only after a batch's effects are durable), or before any
ack the fetch position. Stage 1 is a plain aiokafka consumer group of its own; it reports its
lag by adding a source to ``WorkerMetrics.lag_sources`` (``metrics.aiokafka_lag`` computes it).
A stalled partition's lag grows: that is the signal the alert rules watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import asyncpg
import faust

from processor.db import connect
from processor.logs import get_logger
from processor.worker.metrics import Lag, WorkerMetrics

__all__ = ["RecordsSensor", "refresh_forever"]

log = get_logger("chatstate.telemetry")

_OUTBOX = ("SELECT count(*) AS n, "
           "coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) AS age "
           "FROM outbox")


class RecordsSensor(faust.Sensor):
    """Stage 2 (the Faust agent): records in by logical topic, produce->ack latency, and the
    last acked offset of each partition for the lag gauge.

    The stream hooks, not on_message_in/out: Faust reports a message there only for its
    "acking topics"; every event of a stream passes these two, and ``stream.ack(event)`` calls
    the second."""

    def __init__(self, metrics: WorkerMetrics, stages: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.metrics = metrics
        self.stages = stages  # physical topic -> (stage, logical topic)
        self.acked: dict[Any, int] = {}  # TP -> last acked offset

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        where = self.stages.get(tp.topic)
        if where is not None:
            self.metrics.records_in.labels(*where).inc()

    def on_stream_event_out(self, tp: Any, offset: int, stream: Any, event: Any,
                            state: Any = None) -> None:
        self.acked[tp] = max(offset, self.acked.get(tp, -1))
        where = self.stages.get(tp.topic)
        stamp = getattr(event.message, "timestamp", None)
        if where is not None and stamp:
            self.metrics.produce_to_commit.labels(where[0]).observe(max(0.0, time.time() - stamp))

    async def lag(self, app: faust.App) -> Lag:
        consumer = app.consumer
        out: Lag = {}
        for tp in consumer.assignment():
            where = self.stages.get(tp.topic)
            high = consumer.highwater(tp)
            if where is None or high is None:
                continue
            done = self.acked.get(tp)
            nxt = done + 1 if done is not None else await consumer.position(tp)
            if nxt is not None:
                out[(where[1], tp.partition)] = max(0, high - nxt)
        return out


async def refresh_forever(app: faust.App, metrics: WorkerMetrics, sensor: RecordsSensor,
                          database_url: str, interval_s: float = 5.0) -> None:
    """Consumer lag and outbox backlog, every ``interval_s`` until cancelled. A failure skips
    one refresh (readiness reports an outage; the gauges keep their last value)."""
    conn: asyncpg.Connection | None = None
    try:
        while True:
            lag: Lag = {}
            for source in [lambda: sensor.lag(app), *metrics.lag_sources]:
                try:
                    lag.update(await source())
                except Exception as exc:  # a consumer mid-rebalance: next round
                    log.debug("lag not refreshed", error=type(exc).__name__)
            metrics.set_lag(lag)
            try:
                if conn is None or conn.is_closed():
                    conn = await connect(database_url, timeout=5)
                row = await conn.fetchrow(_OUTBOX, timeout=5)
                if row is not None:
                    metrics.outbox_backlog.set(row["n"])
                    metrics.outbox_oldest.set(float(row["age"]))
            except Exception as exc:
                log.debug("outbox backlog not refreshed", error=type(exc).__name__)
                if conn is not None:
                    conn.terminate()
                conn = None
            await asyncio.sleep(interval_s)
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()
