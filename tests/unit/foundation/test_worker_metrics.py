"""The worker's metrics helpers: lag series follow the partitions a worker holds, outputs are
counted by logical topic and alerts by type, and every series rules query exists from the start."""

from __future__ import annotations

import json
from dataclasses import dataclass

from processor.worker.metrics import WorkerMetrics


@dataclass(frozen=True)
class Out:
    topic: str
    value: bytes


def _text(m: WorkerMetrics) -> str:
    return m.render().decode()


def test_lag_series_follow_the_partitions_held() -> None:
    m = WorkerMetrics()
    m.set_lag({("genesys.conversations", 0): 5, ("genesys.conversations", 1): 0})
    assert 'chatstate_consumer_lag{partition="0",topic="genesys.conversations"} 5.0' in _text(m)
    m.set_lag({("genesys.conversations", 1): 2})  # partition 0 moved to another worker
    text = _text(m)
    assert 'partition="0"' not in text
    assert 'chatstate_consumer_lag{partition="1",topic="genesys.conversations"} 2.0' in text


def test_outputs_are_counted_by_logical_topic_and_alerts_by_type() -> None:
    m = WorkerMetrics()
    alert = json.dumps({"type": "dead_letter", "runbook": "docs/runbook.md#dead-letter"}).encode()
    m.produced("apply", [Out("p.chat.alerts", alert), Out("p.chat.sessions", b"{}"),
                         Out("p.chat.alerts", b"not json")],
               lambda t: t.removeprefix("p."), "p.chat.alerts")
    text = _text(m)
    assert 'chatstate_records_out_total{stage="apply",topic="chat.alerts"} 2.0' in text
    assert 'chatstate_records_out_total{stage="apply",topic="chat.sessions"} 1.0' in text
    assert 'chatstate_alerts_total{type="dead_letter"} 1.0' in text
    assert 'chatstate_alerts_total{type="unknown"} 1.0' in text


def test_reads_are_counted_per_topic_and_batches_per_stage() -> None:
    m = WorkerMetrics()
    m.read("normalise", ["chat.snapshots", "chat.snapshots", "genesys.conversations"])
    m.stage1(3, 2, 1, 0, 0, seconds=0.01)
    text = _text(m)
    assert 'chatstate_records_in_total{stage="normalise",topic="chat.snapshots"} 2.0' in text
    assert 'chatstate_batch_size_count{stage="normalise"} 1.0' in text
    assert 'chatstate_batch_seconds_count{stage="normalise"} 1.0' in text


def test_series_the_rules_need_exist_before_anything_happens() -> None:
    text = _text(WorkerMetrics())
    for series in ('chatstate_stalled{dependency="database"} 0.0',
                   'chatstate_retries_total{dependency="kafka"} 0.0',
                   'chatstate_alerts_total{type="persistence_degraded"} 0.0',
                   'chatstate_batch_seconds_count{stage="apply"} 0.0'):
        assert series in text, series
