"""The worker's /metrics serves its own series and its stage-1 process's as one worker's."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from processor.worker.metrics import WorkerMetrics
from processor.worker.sibling_metrics import MergedRegistry, decode_snapshot, encode_snapshot


def _value(text: bytes, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"{name} {labels} not served")


def _pair() -> tuple[WorkerMetrics, WorkerMetrics]:
    return WorkerMetrics(), WorkerMetrics()


def test_counters_and_histograms_of_both_processes_add_up() -> None:
    worker, sibling = _pair()
    worker.applied.inc(7)
    sibling.stage1(read=40, forwarded=38, skipped=1, dead=1, parked=0, seconds=0.02)
    sibling.read("normalise", ["genesys.conversations"] * 40)
    worker.read("apply", ["chatstate.session-updates"] * 38)
    snap = decode_snapshot(encode_snapshot(sibling.registry))
    assert snap is not None
    text = generate_latest(MergedRegistry(worker.registry, lambda: snap))
    assert _value(text, "chatstate_stage1_records_total") == 40
    assert _value(text, "chatstate_stage2_applied_total") == 7
    assert _value(text, "chatstate_records_in_total", stage="normalise",
                  topic="genesys.conversations") == 40
    assert _value(text, "chatstate_records_in_total", stage="apply",
                  topic="chatstate.session-updates") == 38
    assert _value(text, "chatstate_batch_size_count", stage="normalise") == 1


def test_the_memory_of_both_processes_is_the_workers_and_a_stall_in_either_shows() -> None:
    worker, sibling = _pair()
    sibling.stalled.labels("database").set(1)
    snap = decode_snapshot(encode_snapshot(sibling.registry))
    assert snap is not None
    own = _value(generate_latest(worker.registry), "process_resident_memory_bytes")
    theirs = _value(generate_latest(sibling.registry), "process_resident_memory_bytes")
    text = generate_latest(MergedRegistry(worker.registry, lambda: snap))
    assert _value(text, "process_resident_memory_bytes") >= own + theirs * 0.9
    assert _value(text, "chatstate_stalled", dependency="database") == 1  # not 1 + 0 = "2"


def test_series_only_the_sibling_has_are_served_once() -> None:
    worker, sibling = _pair()
    sibling.set_lag({("genesys.conversations", 0): 12})
    worker.set_lag({("chatstate.session-updates", 3): 4})
    snap = decode_snapshot(encode_snapshot(sibling.registry))
    assert snap is not None
    text = generate_latest(MergedRegistry(worker.registry, lambda: snap))
    assert _value(text, "chatstate_consumer_lag", partition="0",
                  topic="genesys.conversations") == 12
    assert _value(text, "chatstate_consumer_lag", partition="3",
                  topic="chatstate.session-updates") == 4
    assert text.decode().count("# TYPE chatstate_consumer_lag gauge") == 1


def test_before_the_first_snapshot_the_worker_serves_its_own_series() -> None:
    worker = WorkerMetrics()
    worker.applied.inc(2)
    text = generate_latest(MergedRegistry(worker.registry, lambda: []))
    assert _value(text, "chatstate_stage2_applied_total") == 2


def test_a_line_that_is_not_a_snapshot_is_ignored() -> None:
    for line in (b"", b"hello\n", b"{}\n", b"[1, 2]\n", b'[{"name": 3}]\n', b"\xff\n"):
        assert decode_snapshot(line) is None
    assert decode_snapshot(encode_snapshot(CollectorRegistry())) == []
