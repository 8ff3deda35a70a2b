"""A conversation observed, through ``decide``: one rule per test (docs/lifecycle.md)."""

from __future__ import annotations

from datetime import timedelta

from processor.core.lifecycle import decide
from schemas.alerts import AlertType
from schemas.observation import ConversationState
from schemas.session import SessionStatus
from tests.unit.core.lifecycle_builders import (
    C1,
    C2,
    POLICY,
    T0,
    ExpireSession,
    ended,
    live,
    run,
    update,
)

H = timedelta(hours=1)


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
