"""What the leader's scans decide (processor/core/scans.py): timer commands that take the
session's own path, the orphan/unmapped alerts, and a round's per-conversation alerts capped, the
rest in one aggregate alert that names a few ids and never content."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from processor.core.lifecycle import LifecyclePolicy, decide
from processor.core.scans import (
    SAMPLE_IDS,
    archive_update,
    cap_alerts,
    expire_update,
    orphan_alert,
    parked_overflow_alert,
    unmapped_alert,
)
from schemas.alerts import Alert, AlertType, Severity
from schemas.commands import ArchiveSession, ExpireSession
from schemas.session import SessionStatus
from tests.unit.core.lifecycle_builders import C1, PSID, live, run

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def unmapped(n: int) -> list[Alert]:
    return [unmapped_alert(uuid.uuid4(), NOW - timedelta(minutes=20), 1, 0, NOW) for _ in range(n)]


def test_a_round_within_the_cap_alerts_each_conversation_and_nothing_else() -> None:
    alerts = unmapped(3)
    capped = cap_alerts(alerts, 3, NOW)
    assert capped.shown == alerts
    assert capped.covered == []
    assert capped.aggregate is None


def test_a_round_over_the_cap_alerts_the_first_ones_then_one_aggregate() -> None:
    alerts = unmapped(12)
    capped = cap_alerts(alerts, 4, NOW)
    assert capped.shown == alerts[:4]
    assert capped.covered == alerts[4:]
    agg = capped.aggregate
    assert agg is not None
    assert agg.type is AlertType.UNMAPPED_CONVERSATION
    assert agg.conversation_id is None
    assert agg.persistent_session_id is None
    assert agg.details["count"] == 8
    assert agg.details["alertedIndividually"] == 4
    assert agg.details["sampleConversationIds"] == [
        str(a.conversation_id) for a in alerts[4 : 4 + SAMPLE_IDS]
    ]
    assert agg.dedup_key == f"unmapped_conversation:aggregate:{NOW.isoformat()}"
    assert agg.runbook.endswith("#unmapped-conversation")


def test_an_orphan_aggregate_names_conversations_and_carries_no_content() -> None:
    orphans = [
        orphan_alert(uuid.uuid4(), uuid.uuid4(), NOW, NOW, timedelta(minutes=10)) for _ in range(3)
    ]
    agg = cap_alerts(orphans, 0, NOW).aggregate
    assert agg is not None
    assert agg.type is AlertType.ORPHANED_CONVERSATION
    keys = {"aggregate", "count", "alertedIndividually", "sampleConversationIds"}
    assert set(agg.details) == keys
    assert agg.details["count"] == 3


def test_two_rounds_aggregate_under_two_keys_and_the_same_round_under_one() -> None:
    later = NOW + timedelta(seconds=30)
    a = cap_alerts(unmapped(3), 1, NOW).aggregate
    b = cap_alerts(unmapped(3), 1, NOW).aggregate
    c = cap_alerts(unmapped(3), 1, later).aggregate
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.dedup_key == b.dedup_key != c.dedup_key
    assert a.id == b.id  # a round repeated after a crash re-sends the same alert


@given(n=st.integers(0, 60), cap=st.integers(0, 30))
def test_every_alert_is_told_exactly_once_individually_or_in_the_aggregate(
    n: int, cap: int
) -> None:
    alerts = unmapped(n)
    capped = cap_alerts(alerts, cap, NOW)
    assert len(capped.shown) == min(n, cap)
    assert capped.shown + capped.covered == alerts
    told = len(capped.shown) + (capped.aggregate.details["count"] if capped.aggregate else 0)
    assert told == n
    assert (capped.aggregate is not None) == (n > cap)
    if capped.aggregate:
        assert len(capped.aggregate.details["sampleConversationIds"]) == min(SAMPLE_IDS, n - cap)


def test_the_overflow_alert_is_keyed_by_its_episode() -> None:
    a = parked_overflow_alert("chatstate", NOW, 1000, 7)
    assert a.type is AlertType.PARKED_OVERFLOW
    assert a.severity is Severity.CRITICAL
    assert a.dedup_key == f"parked_overflow:chatstate:{NOW.isoformat()}"
    assert a.details == {"limit": 1000, "refusedConversations": 7, "worker": "chatstate"}
    assert a.runbook.endswith("#parked-overflow")


def test_timer_commands_are_due_now_and_a_second_round_is_a_distinct_update() -> None:
    psid = uuid.uuid4()
    expire, archive = expire_update(psid, NOW), archive_update(psid, NOW)
    assert isinstance(expire.command, ExpireSession)
    assert expire.command.due_at == NOW
    assert isinstance(archive.command, ArchiveSession)
    assert archive.command.due_at == NOW
    assert expire.persistent_session_id == archive.persistent_session_id == psid
    assert expire.received_at == archive.received_at == NOW
    assert expire.source_id != archive.source_id, "the two timers never dedupe each other"
    assert expire_update(psid, NOW).source_id == expire.source_id, "a re-sent round is the same"
    assert expire_update(psid, NOW + timedelta(seconds=30)).source_id != expire.source_id


def test_an_expiry_the_scan_sent_expires_the_session_through_decide() -> None:
    policy = LifecyclePolicy(ttl=timedelta(hours=1))
    s, _ = run([(live(C1, NOW), NOW)], policy=policy)
    assert s is not None
    assert s.expires_at is not None
    early = decide(s, expire_update(PSID, s.expires_at - timedelta(seconds=1)), policy)
    assert not early.changed, "the lifecycle re-checks the due time"
    due = decide(s, expire_update(PSID, s.expires_at), policy)
    assert due.session is not None
    assert due.session.status is SessionStatus.EXPIRED


def test_an_orphan_alert_names_the_conversation_its_session_and_the_grace() -> None:
    cid, psid = uuid.uuid4(), uuid.uuid4()
    a = orphan_alert(cid, psid, NOW - timedelta(minutes=15), NOW, timedelta(minutes=10))
    assert (a.type, a.severity) == (AlertType.ORPHANED_CONVERSATION, Severity.WARNING)
    assert (a.conversation_id, a.persistent_session_id) == (cid, psid)
    assert "10 min" in a.summary
    assert a.details == {"firstSeenAt": (NOW - timedelta(minutes=15)).isoformat(),
                         "graceSeconds": 600.0}
    later = orphan_alert(cid, psid, NOW - timedelta(minutes=15), NOW + timedelta(hours=1),
                         timedelta(minutes=10))
    assert later.dedup_key == a.dedup_key, "one alert per conversation"
    assert later.id == a.id


def test_an_unmapped_alert_has_no_session_and_counts_parked_and_dropped_events() -> None:
    cid = uuid.uuid4()
    a = unmapped_alert(cid, NOW - timedelta(minutes=20), 7, 2, NOW)
    assert (a.type, a.conversation_id, a.persistent_session_id) == (
        AlertType.UNMAPPED_CONVERSATION, cid, None)
    assert a.details["parkedEvents"] == 7
    assert a.details["droppedEvents"] == 2

