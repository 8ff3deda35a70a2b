"""A state snapshot, through ``decide``: one rule per test (docs/lifecycle.md)."""

from __future__ import annotations

from datetime import timedelta

from processor.core.lifecycle import decide
from schemas.alerts import AlertType
from tests.unit.core.lifecycle_builders import (
    C3,
    POLICY,
    T0,
    run,
    snapshot,
    update,
)

H = timedelta(hours=1)


def test_the_newest_snapshot_becomes_the_latest_and_history_keeps_every_one() -> None:
    s, ds = run([(snapshot(T0, steps=1), T0), (snapshot(T0 + H, steps=2), T0 + H)])
    assert s is not None
    assert s.latest_snapshot is not None
    assert s.latest_snapshot["stepsCompleted"] == 2
    assert [d.snapshot.state["stepsCompleted"] for d in ds if d.snapshot] == [1, 2]


def test_an_older_snapshot_goes_to_history_but_never_overwrites_the_latest() -> None:
    s, ds = run([(snapshot(T0 + H, steps=3), T0), (snapshot(T0, steps=1), T0 + H)])
    assert s is not None
    assert s.latest_snapshot is not None
    assert s.latest_snapshot["stepsCompleted"] == 3
    assert s.latest_snapshot_at == T0 + H
    assert ds[1].snapshot is not None, "kept in history"


def test_on_equal_timestamps_the_later_arrival_wins() -> None:
    s, _ = run([(snapshot(T0, steps=1), T0), (snapshot(T0, steps=2), T0 + H)])
    assert s is not None
    assert s.latest_snapshot is not None
    assert s.latest_snapshot["stepsCompleted"] == 2


def test_the_same_snapshot_twice_is_a_no_op() -> None:
    snap = snapshot(T0, steps=1)
    s, ds = run([(snap, T0), (snap, T0 + H)])
    assert s is not None
    assert s.version == 1
    assert not ds[1].changed
    assert ds[1].snapshot is None


def test_a_retried_older_snapshot_already_in_history_is_a_no_op() -> None:
    old, new = snapshot(T0, steps=1), snapshot(T0 + H, steps=2)
    s, _ = run([(old, T0), (new, T0 + H)])
    d = decide(s, update(old, T0 + 2 * H), POLICY, known_snapshots=frozenset({old.content_id}))
    assert not d.changed
    assert d.snapshot is None


def test_a_snapshot_maps_its_conversation_to_the_session() -> None:
    s, ds = run([(snapshot(T0, conv=C3), T0)])
    assert s is not None
    assert s.conversation(C3) is not None
    assert s.current_conversation_id == C3
    assert ds[0].conversations[0].conversation_id == C3


def test_pii_in_a_snapshot_is_redacted_and_alerted_by_path_never_by_value() -> None:
    s, [d] = run([(snapshot(T0, message="card 4111 1111 1111 1111"), T0)])
    assert s is not None
    assert s.latest_snapshot is not None
    assert "4111" not in str(s.latest_snapshot)
    [alert] = d.alerts
    assert alert.type is AlertType.PII_DETECTED
    assert alert.details["findings"] == [
        {"path": "$.stateSnapshot.lastAgentMessage", "kind": "card_number"}
    ]
    assert "4111" not in alert.model_dump_json()
