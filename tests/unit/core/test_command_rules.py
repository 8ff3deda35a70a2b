"""Close, expire and archive, through ``decide``: one rule per test (docs/lifecycle.md)."""

from __future__ import annotations

from datetime import timedelta

from processor.core.lifecycle import decide
from schemas.alerts import AlertType
from schemas.session import SessionStatus
from tests.unit.core.lifecycle_builders import (
    C1,
    C2,
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
