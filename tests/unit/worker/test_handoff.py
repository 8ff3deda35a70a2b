"""Stage 1 -> stage 2 hand-off in one process: taken only for the exact bytes produced, bounded,
and only for partitions this process's stage 2 owns; what it hands over equals a decode."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from processor.core.internal_records import decode, pack
from processor.core.route import CONVERSATIONS, SNAPSHOTS, Inbound, parse_all, route
from processor.worker.handoff import Handoff
from schemas.commands import CloseSession, SessionUpdate
from tests.integration.worker.harness import conversation_event, snapshot_body

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
T = "chatstate.session-updates"


def close(n: int) -> SessionUpdate:
    return SessionUpdate(
        id=uuid.UUID(int=1000 + n),
        persistent_session_id=uuid.UUID(int=n + 1),
        source_id=f"x:0:{n}",
        received_at=NOW,
        command=CloseSession(),
    )


def test_the_exact_bytes_produced_are_taken_once_anything_else_is_decoded() -> None:
    h = Handoff()
    h.own(T, {0, 1})
    h.keep(T, 0, 7, b"v", [close(1)])
    assert h.take(T, 0, 7, b"other bytes") is None, "not what was produced there"
    h.keep(T, 0, 7, b"v", [close(1)])
    assert h.take(T, 0, 7, b"v") == (close(1),)
    assert h.take(T, 0, 7, b"v") is None, "taken once"
    assert len(h) == 0


def test_only_owned_partitions_are_kept_and_a_rebalance_drops_the_rest() -> None:
    h = Handoff()
    h.keep(T, 0, 1, b"v", [close(1)])
    assert len(h) == 0, "nothing owned yet"
    h.own(T, {0, 1})
    h.keep(T, 0, 1, b"v", [close(1)])
    h.keep(T, 1, 1, b"v", [close(2)])
    h.own(T, {1})
    assert len(h) == 1
    assert h.take(T, 0, 1, b"v") is None
    assert h.take(T, 1, 1, b"v") == (close(2),)


def test_when_full_new_records_are_refused_and_the_oldest_kept() -> None:
    h = Handoff(max_updates=3)
    h.own(T, {0})
    h.keep(T, 0, 1, b"a", [close(1), close(2)])
    h.keep(T, 0, 2, b"b", [close(3), close(4)])  # would make 4: refused
    assert len(h) == 2
    assert h.take(T, 0, 1, b"a") is not None
    assert h.take(T, 0, 2, b"b") is None


def test_real_updates_survive_the_json_round_trip_exactly() -> None:
    """The hand-off is only sound if decoding a record gives back equal updates."""
    psid, conv = uuid.uuid4(), uuid.uuid4()
    records = [
        Inbound(CONVERSATIONS, "in", 0, 0, None,
                json.dumps(conversation_event(conv, psid, "connected", NOW)).encode()),
        Inbound(SNAPSHOTS, "snap", 0, 1, None,
                json.dumps(snapshot_body(psid, conv, NOW, 2)).encode()),
        Inbound(CONVERSATIONS, "in", 0, 2, None,
                json.dumps(conversation_event(conv, psid, "disconnected", NOW)).encode()),
    ]
    updates = route(records, parse_all(records), {}, NOW).updates
    assert len(updates) == 3
    for r in pack(updates, 6, T, 900_000):
        assert [d.update for d in decode(r.value)] == list(r.updates)
