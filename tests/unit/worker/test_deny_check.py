"""The deny list's question for a batch (``processor/worker/removal.py``), asked by the unit of
work in the same statement as its other look-ups: which digests, and what the rows mean."""

from __future__ import annotations

import uuid
from datetime import timedelta

from processor.core.removal import customer_digest, session_digest
from processor.worker.removal import deny_check
from tests.unit.core.lifecycle_builders import C1, C2, T0, live, update

P1 = uuid.UUID("00000000-0000-4000-8000-0000000d0001")
P2 = uuid.UUID("00000000-0000-4000-8000-0000000d0002")
HASH = "c" * 64


def test_each_session_and_each_customer_is_asked_once() -> None:
    check = deny_check([
        update(live(C1, T0, customer_id_hashed=HASH), T0, P1),
        update(live(C1, T0 + timedelta(minutes=1), customer_id_hashed=HASH), T0, P1),
        update(live(C2, T0), T0, P2),
    ])
    assert sorted(set(check.digests)) == sorted(
        {session_digest(P1), session_digest(P2), customer_digest(HASH)})
    assert len(check.by_digest) == 2


def test_an_erased_session_is_denied_and_an_erased_customer_only_for_events_before_it() -> None:
    early = update(live(C1, T0, customer_id_hashed=HASH), T0, P1)
    late = update(live(C2, T0 + timedelta(hours=2), customer_id_hashed=HASH), T0, P2)
    check = deny_check([early, late])
    erased_at = T0 + timedelta(hours=1)
    assert check.denied([(customer_digest(HASH), "customer", erased_at)]) == {P1}
    assert check.denied([(session_digest(P2), "session", erased_at)]) == {P2}
    assert check.denied([]) == set()
