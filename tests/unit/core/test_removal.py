"""Issuing, erasure, purge and the deny list (processor/core/removal.py), through ``decide``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from processor.core.lifecycle import LifecyclePolicy, decide
from processor.core.removal import (
    RemovalKind,
    customer_digest,
    session_digest,
    update_customer,
)
from schemas.commands import (
    ArchiveSession,
    EraseSession,
    ExpireSession,
    PurgeSession,
    SessionIssued,
)
from schemas.session import LifecycleEvent, SessionStatus
from tests.unit.core.lifecycle_builders import C1, C2, T0, live, run, snapshot, update

H = timedelta(hours=1)
CUSTOMER = "a" * 64
PURGING = LifecyclePolicy(ttl=72 * H, retention=timedelta(days=90), purge_after=timedelta(days=30))


def issued(at: datetime = T0, previous: uuid.UUID | None = None) -> SessionIssued:
    return SessionIssued(customer_id_hashed=CUSTOMER, previous_session_id=previous, issued_at=at,
                         expires_at=at + 72 * H)


def test_an_issued_session_is_published_at_once_as_version_1_with_its_customer() -> None:
    s, [d] = run([(issued(), T0)])
    assert d.changed
    assert s is not None
    assert s.version == 1
    assert s.customer_id_hashed == CUSTOMER
    assert s.lifecycle_event is LifecycleEvent.ISSUED
    assert s.status is SessionStatus.IDLE


def test_issued_after_the_worker_applied_the_session_changes_nothing() -> None:
    s, _ = run([(live(C1, T0), T0)])
    d = decide(s, update(issued(), T0 + H), PURGING)
    assert not d.changed
    assert d.session == s


def test_the_api_row_at_version_0_is_published_by_the_issued_command() -> None:
    s, _ = run([(issued(), T0)])
    assert s is not None
    api_row = s.model_copy(update={"version": 0, "lifecycle_event": None})
    d = decide(api_row, update(issued(), T0), PURGING)
    assert d.changed
    assert d.session is not None
    assert d.session.version == 1


def test_a_lifecycle_event_is_set_on_the_version_it_made_and_cleared_on_the_next() -> None:
    s, [_, exp, back] = run([(live(C1, T0), T0), (ExpireSession(due_at=T0 + 80 * H), T0 + 80 * H),
                             (live(C2, T0 + 81 * H), T0 + 81 * H)])
    assert exp.session is not None
    assert exp.session.lifecycle_event is LifecycleEvent.EXPIRED
    assert back.session is not None
    assert back.session.lifecycle_event is LifecycleEvent.RESUMED
    d = decide(s, update(snapshot(T0 + 82 * H, conv=C2), T0 + 82 * H), PURGING)
    assert d.session is not None
    assert d.session.lifecycle_event is None


def test_erase_removes_the_session_whatever_its_status_and_even_when_already_gone() -> None:
    erasure = uuid.uuid4()
    s, _ = run([(live(C1, T0), T0)])
    for session in (s, None):
        d = decide(session, update(EraseSession(erasure_id=erasure), T0 + H), PURGING)
        assert d.session is None
        assert d.removal is not None
        assert d.removal.kind is RemovalKind.ERASED
        assert d.removal.erasure_id == erasure


def test_an_update_for_an_erased_session_is_refused_without_an_alert() -> None:
    d = decide(None, update(live(C1, T0, pii_attribute_keys=["email"]), T0), PURGING, erased=True)
    assert d.session is None
    assert not d.changed
    assert d.alerts == []


def test_purge_only_an_archived_session_past_retention_and_the_purge_period() -> None:
    s, _ = run([(live(C1, T0), T0), (ExpireSession(due_at=T0 + 73 * H), T0 + 73 * H)],
               policy=PURGING)
    archive_at = T0 + timedelta(days=91)
    s, _ = run([(ArchiveSession(due_at=archive_at), archive_at)], s, PURGING)
    assert s is not None
    assert s.status is SessionStatus.ARCHIVED
    early = T0 + timedelta(days=100)
    assert decide(s, update(PurgeSession(due_at=early), early), PURGING).removal is None
    due = T0 + timedelta(days=121)
    d = decide(s, update(PurgeSession(due_at=due), due), PURGING)
    assert d.removal is not None
    assert d.removal.kind is RemovalKind.PURGED
    never = LifecyclePolicy(retention=timedelta(days=90))
    assert decide(s, update(PurgeSession(due_at=due), due), never).removal is None


def test_a_session_that_came_back_is_not_purged() -> None:
    s, _ = run([(live(C1, T0), T0)], policy=PURGING)
    due = T0 + timedelta(days=400)
    d = decide(s, update(PurgeSession(due_at=due), due), PURGING)
    assert d.removal is None
    assert d.session == s


def test_an_update_names_its_customer_at_the_time_of_its_own_event() -> None:
    u = update(live(C1, T0, customer_id_hashed=CUSTOMER), T0 + 1000 * H)
    assert update_customer(u) == (CUSTOMER, T0)


@given(st.uuids(), st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_deny_list_digests_never_contain_the_id_and_never_collide_across_kinds(
    psid: uuid.UUID, customer: str
) -> None:
    a, b = session_digest(psid), customer_digest(customer)
    assert str(psid) not in a
    assert customer not in b
    assert a != b
    assert len(a) == len(b) == 64
