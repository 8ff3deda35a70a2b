"""The session lifecycle, one rule per test (see docs/lifecycle.md)."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from processor.core.lifecycle import LifecyclePolicy, decide
from schemas.alerts import AlertType
from schemas.observation import ConversationState
from schemas.session import SessionStatus
from tests.unit.lifecycle.builders import (
    C1,
    C2,
    C3,
    POLICY,
    T0,
    ArchiveSession,
    CloseSession,
    ExpireSession,
    ended,
    live,
    run,
    snapshot,
    update,
)

H = timedelta(hours=1)


def test_a_session_starts_on_first_sight_of_a_live_conversation() -> None:
    s, [d] = run([(live(C1, T0), T0)])
    assert s is not None
    assert s.status is SessionStatus.ACTIVE
    assert s.current_conversation_id == C1
    assert s.version == 1
    assert s.expires_at == T0 + POLICY.ttl
    assert d.conversations[0].conversation_id == C1


def test_unissued_ids_are_refused_with_an_alert_when_issuing_is_required() -> None:
    strict = LifecyclePolicy(require_issued=True)
    d = decide(None, update(live(C1, T0), T0), strict, issued=False)
    assert d.session is None
    assert [a.type for a in d.alerts] == [AlertType.UNKNOWN_SESSION]
    assert decide(None, update(live(C1, T0), T0), strict, issued=True).session is not None


def test_the_end_of_the_only_conversation_makes_the_session_idle_and_resumable() -> None:
    s, _ = run([(live(C1, T0), T0), (ended(C1, T0 + H), T0 + H)])
    assert s is not None
    assert s.status is SessionStatus.IDLE
    assert s.status.resumable
    assert s.current_conversation_id == C1, "the last conversation is the one to resume"
    assert s.expires_at == T0 + H + POLICY.ttl


def test_an_end_seen_before_its_start_converges_to_ended() -> None:
    in_order, _ = run([(live(C1, T0), T0), (ended(C1, T0 + H), T0 + H)])
    reversed_, _ = run([(ended(C1, T0 + H), T0), (live(C1, T0), T0 + H)])
    assert in_order is not None
    assert reversed_ is not None
    assert reversed_.conversations[0].state is ConversationState.ENDED
    assert reversed_.status is in_order.status is SessionStatus.IDLE
    assert reversed_.conversations[0].ended_at == in_order.conversations[0].ended_at


def test_seeing_the_same_event_twice_changes_nothing_the_second_time() -> None:
    s, decisions = run([(live(C1, T0), T0), (live(C1, T0), T0)])
    assert s is not None
    assert s.version == 1
    assert not decisions[1].changed


def test_a_second_live_conversation_is_concurrent_and_does_not_fork_the_session() -> None:
    s, decisions = run([(live(C1, T0), T0), (live(C2, T0 + H), T0 + H)])
    assert s is not None
    assert s.current_conversation_id == C1, "the first stays the session's conversation"
    assert s.conversation(C2) is not None
    assert s.conversation(C2).concurrent_with == C1
    [alert] = decisions[1].alerts
    assert alert.type is AlertType.CONCURRENT_SESSION
    assert str(C1) in alert.dedup_key
    assert str(C2) in alert.dedup_key


def test_the_concurrent_conversation_becomes_current_when_the_first_ends() -> None:
    s, _ = run(
        [(live(C1, T0), T0), (live(C2, T0 + H), T0 + H), (ended(C1, T0 + 2 * H), T0 + 2 * H)]
    )
    assert s is not None
    assert s.status is SessionStatus.ACTIVE
    assert s.current_conversation_id == C2


def test_expiry_after_the_ttl_alerts_once_and_a_late_timer_is_rechecked() -> None:
    s, _ = run([(live(C1, T0), T0), (ended(C1, T0 + H), T0 + H)])
    assert s is not None
    due = s.expires_at
    assert due is not None
    early = decide(s, update(ExpireSession(due_at=due - H), due), POLICY)
    assert not early.changed, "not due yet"
    d = decide(s, update(ExpireSession(due_at=due), due), POLICY)
    assert d.session is not None
    assert d.session.status is SessionStatus.EXPIRED
    assert [a.type for a in d.alerts] == [AlertType.SESSION_EXPIRED]
    again = decide(d.session, update(ExpireSession(due_at=due + H), due + H), POLICY)
    assert not again.changed
    assert not again.alerts


def test_an_interaction_after_the_scan_looked_keeps_the_session_alive() -> None:
    s, _ = run([(live(C1, T0), T0), (ended(C1, T0 + H), T0 + H)])
    assert s is not None
    assert s.expires_at is not None
    due = s.expires_at
    s2, _ = run([(snapshot(due - timedelta(minutes=1)), due)], s)
    assert s2 is not None
    d = decide(s2, update(ExpireSession(due_at=due), due), POLICY)
    assert not d.changed
    assert d.session is not None
    assert d.session.status is not SessionStatus.EXPIRED


def test_a_returning_customer_after_expiry_gets_a_new_conversation_tagged_with_the_old() -> None:
    s, _ = run([(live(C1, T0), T0), (ended(C1, T0 + H), T0 + H)])
    assert s is not None
    assert s.expires_at is not None
    s = decide(s, update(ExpireSession(due_at=s.expires_at), s.expires_at), POLICY).session
    assert s is not None
    assert s.status is SessionStatus.EXPIRED
    back = s.expires_at + timedelta(days=2)  # type: ignore[operator]
    s2, _ = run([(live(C2, back), back)], s)
    assert s2 is not None
    assert s2.status is SessionStatus.ACTIVE
    assert s2.current_conversation_id == C2
    assert s2.resumed_from_conversation_id == C1
    assert s2.conversation(C2).resumed_from_conversation_id == C1  # type: ignore[union-attr]


def test_an_old_idle_session_is_archived_after_the_retention_window() -> None:
    s, _ = run([(live(C1, T0), T0), (ended(C1, T0 + H), T0 + H)])
    assert s is not None
    late = T0 + H + POLICY.retention
    assert not decide(s, update(ArchiveSession(due_at=late - H), late), POLICY).changed
    d = decide(s, update(ArchiveSession(due_at=late), late), POLICY)
    assert d.session is not None
    assert d.session.status is SessionStatus.ARCHIVED


def test_a_closed_session_stays_closed() -> None:
    s, _ = run([(live(C1, T0), T0), (CloseSession(), T0 + H), (live(C2, T0 + 2 * H), T0 + 2 * H)])
    assert s is not None
    assert s.status is SessionStatus.CLOSED
    assert s.expires_at is None
    assert s.conversation(C2) is not None, "the conversation is still recorded"


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


def test_version_grows_by_one_per_change_and_ids_derive_from_it() -> None:
    s, ds = run(
        [(live(C1, T0), T0), (snapshot(T0 + H), T0 + H), (ended(C1, T0 + 2 * H), T0 + 2 * H)]
    )
    assert s is not None
    assert s.version == 3
    ids = {d.session.id for d in ds if d.session}
    assert len(ids) == 3, "each published state has its own id"


def test_replaying_the_same_updates_computes_the_same_session() -> None:
    story = [
        (live(C1, T0), T0),
        (snapshot(T0 + H), T0 + H),
        (live(C2, T0 + H), T0 + H),
        (ended(C1, T0 + 2 * H), T0 + 2 * H),
        (CloseSession(), T0 + 3 * H),
    ]
    a, _ = run(story)
    b, _ = run(story)
    assert a == b


_PURE = {"__future__", "collections", "uuid", "dataclasses", "datetime", "typing", "hashlib",
         "enum", "schemas"}


def _imports(module: str) -> set[str]:
    src = Path(__file__).parents[3].joinpath(*module.split(".")).with_suffix(".py")
    imported = set()
    for node in ast.walk(ast.parse(src.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return imported


def test_the_lifecycle_imports_nothing_that_does_io() -> None:
    """The lifecycle and the sibling core modules it dispatches to import only the standard
    library's pure modules and the contracts (checked through every core module it reaches)."""
    todo, seen = ["processor.core.lifecycle"], set()
    while todo:
        module = todo.pop()
        seen.add(module)
        for name in _imports(module):
            if name.startswith("processor.core."):
                todo.extend([name] if name not in seen else [])
            else:
                assert name.split(".")[0] in _PURE, f"{module} imports {name}"
    assert "processor.core.removal" in seen


def test_pii_in_a_conversations_custom_attributes_alerts_by_key_even_on_a_repeated_event() -> None:
    s, _ = run([(live(C1, T0), T0)])
    d = decide(s, update(live(C1, T0, pii_attribute_keys=["context.email"]), T0 + H), POLICY)
    assert not d.changed, "nothing about the session changed"
    [alert] = d.alerts
    assert alert.type is AlertType.PII_DETECTED
    assert alert.details["findings"] == [
        {"path": "$.customer.attributes.context.email", "kind": "pii"}
    ]
    assert alert.conversation_id == C1
