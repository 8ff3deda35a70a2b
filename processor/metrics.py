"""Prometheus metrics: the one registry per process, so the worker and the API each expose
what they did without a global that tests would share."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["WorkerMetrics"]


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
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
        self.batch_seconds = Histogram(
            "chatstate_stage2_batch_seconds", "Time to apply and commit one batch", registry=r
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

    def stage1(self, read: int, forwarded: int, skipped: int, dead: int, parked: int) -> None:
        self.inputs.inc(read)
        self.forwarded.inc(forwarded)
        self.skipped.inc(skipped)
        self.parked.inc(parked)

    def stage2(self, read: int, applied: int, replayed: int, seconds: float) -> None:
        self.applied.inc(applied)
        self.replayed.inc(replayed)
        self.batch_seconds.observe(seconds)

    def watch_parked_index(self, size: Callable[[], float]) -> None:
        self.parked_index.set_function(size)

    def dead_letter(self, stage: str, reason: str) -> None:
        self.dead.labels(stage, reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
