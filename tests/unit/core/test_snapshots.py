"""Guarding a data-action snapshot (processor/core/snapshots.py): the content id recognises a
retried data action, and PII is replaced before anything stores it, reported by path only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from processor.core.snapshots import content_id, guard_snapshot, parse_snapshot
from schemas.dlq import DeadLetterReason
from schemas.observation import Rejected
from schemas.snapshot import SnapshotIn

PSID = uuid.UUID("00000000-0000-4000-8000-00000000a001")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def snap(message: str = "How can I help?", at: datetime = T0) -> SnapshotIn:
    return SnapshotIn.model_validate({
        "persistentSessionId": str(PSID), "timestamp": at.isoformat(),
        "stateSnapshot": {"intent": "billing", "stepsCompleted": 1, "lastAgentMessage": message},
    })


def test_the_content_id_is_the_same_for_the_same_snapshot_and_differs_on_any_change() -> None:
    assert content_id(snap()) == content_id(snap())
    assert content_id(snap()) != content_id(snap("Anything else?"))
    assert content_id(snap()) != content_id(snap(at=T0.replace(minute=1)))


def test_the_content_id_of_a_snapshot_never_changes_across_releases() -> None:
    """Ids are stored: a data action retried across an upgrade must get the same one. The
    digest was computed by the first implementation (json.dumps(..., sort_keys=True) of the
    snapshot's JSON-mode dump), on non-ASCII text, nesting and an offset timestamp."""
    s = SnapshotIn.model_validate({
        "persistentSessionId": str(PSID), "conversationId": "00000000-0000-4000-8000-00000000c001",
        "timestamp": "2026-12-01T12:00:00.250+01:00",
        "stateSnapshot": {"intent": "facturation \u00e9", "stepsCompleted": 3,
                          "lastAgentMessage": 'Gr\u00fc\u00dfe \U0001f600 "q"',
                          "ctx": {"b": [1, 2.5, None], "a": True}},
        "customProperties": {"z": 1, "customerIdHashed": "ab" * 32, "locale": "fr-FR"},
    })
    assert content_id(s) == "507067ba9b632b7d0e2193f1fbbea95d4768d02ee81e83c0a300bade5b6d9f91"


def test_a_clean_snapshot_goes_on_as_it_came() -> None:
    s = snap()
    guarded = guard_snapshot(s)
    assert guarded.snapshot is s
    assert guarded.findings == []
    assert guarded.content_id == content_id(s)


def test_pii_is_replaced_and_reported_by_path_and_kind_never_by_value() -> None:
    guarded = guard_snapshot(snap("your card 4111 1111 1111 1111 is on file"))
    assert "4111" not in guarded.snapshot.model_dump_json()
    assert [(f.path, f.kind) for f in guarded.findings] == [
        ("$.stateSnapshot.lastAgentMessage", "card_number")]
    assert "4111" not in str(guarded.findings)


def test_a_record_that_is_not_a_snapshot_is_rejected_with_a_reason() -> None:
    result = parse_snapshot(b'{"persistentSessionId": "x"}')
    assert isinstance(result, Rejected)
    assert result.reason is DeadLetterReason.INVALID_SNAPSHOT
    assert "persistentSessionId" in result.detail
