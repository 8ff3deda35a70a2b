"""Stage 1's routing decisions, without Kafka: what each input record becomes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from processor.core.route import (
    COMMANDS,
    CONVERSATIONS,
    SNAPSHOTS,
    Inbound,
    Parked,
    needs_mapping,
    parse_all,
    route,
    unpark,
)
from processor.core.snapshots import GuardedSnapshot
from schemas.commands import (
    ApplySnapshot,
    Command,
    ObserveConversation,
    SessionCommand,
    SessionUpdate,
)
from schemas.observation import Accepted
from schemas.snapshot import PII_FINDINGS_HEADER
from tests.integration.worker.harness import conversation_event, snapshot_body

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PSID, CONV = uuid.uuid4(), uuid.uuid4()


def rec(
    logical: str, value: bytes, offset: int = 0, headers: tuple[tuple[str, bytes], ...] = ()
) -> Inbound:
    return Inbound(logical, f"x.{logical}", 0, offset, b"k", value, headers)


def run(*records: Inbound, known: dict[uuid.UUID, uuid.UUID] | None = None):  # type: ignore[no-untyped-def]
    parsed = parse_all(records)
    return route(records, parsed, known or {}, NOW), parsed


def test_an_event_naming_its_session_becomes_an_update_keyed_by_that_session() -> None:
    routed, _ = run(
        rec(CONVERSATIONS, json.dumps(conversation_event(CONV, PSID, "connected", NOW)).encode())
    )
    [u] = routed.updates
    assert u.persistent_session_id == PSID
    assert isinstance(u.command, ObserveConversation)
    assert u.source_id == f"x.{CONVERSATIONS}:0:0"
    assert routed.learned == {CONV: PSID}


def test_an_event_without_a_session_uses_a_known_mapping_else_is_parked() -> None:
    ev = rec(CONVERSATIONS, json.dumps(conversation_event(CONV, None, "connected", NOW)).encode())
    routed, parsed = run(ev)
    assert needs_mapping(parsed, {}) == {CONV}
    assert routed.updates == []
    assert [p.conversation_id for p in routed.parked] == [CONV]
    mapped, _ = run(ev, known={CONV: PSID})
    assert [u.persistent_session_id for u in mapped.updates] == [PSID]


def test_a_mapping_learned_earlier_in_the_batch_routes_later_events() -> None:
    first = rec(
        CONVERSATIONS, json.dumps(conversation_event(CONV, PSID, "connected", NOW)).encode()
    )
    later = rec(
        CONVERSATIONS, json.dumps(conversation_event(CONV, None, "disconnected", NOW)).encode(), 1
    )
    routed, _ = run(first, later)
    assert [u.persistent_session_id for u in routed.updates] == [PSID, PSID]
    assert routed.parked == []


def test_heartbeats_are_skipped_and_garbage_is_dead_lettered_with_a_reason() -> None:
    hb = rec(CONVERSATIONS, json.dumps({"topicName": "channel.metadata", "eventBody": {}}).encode())
    bad = rec(SNAPSHOTS, b"{oops", 1)
    cmd = rec(COMMANDS, b'{"command": {"type": "nope"}}', 2)
    routed, _ = run(hb, bad, cmd)
    assert sum(routed.skipped.values()) == 1
    assert [(r.offset, reason) for r, reason, _ in routed.dead] == [
        (1, "invalid_json"),
        (2, "invalid_command"),
    ]


def test_pii_the_api_already_redacted_still_reaches_the_lifecycle_through_the_header() -> None:
    finding = [{"path": "$.stateSnapshot.lastAgentMessage", "kind": "email"}]
    body = json.dumps(snapshot_body(PSID, CONV, NOW, 1, message="mail [REDACTED:email]")).encode()
    routed, _ = run(
        rec(SNAPSHOTS, body, headers=((PII_FINDINGS_HEADER, json.dumps(finding).encode()),))
    )
    [u] = routed.updates
    assert isinstance(u.command, ApplySnapshot)
    assert [(f.path, f.kind) for f in u.command.pii_findings] == [
        ("$.stateSnapshot.lastAgentMessage", "email")
    ]


def test_updates_are_the_models_the_public_constructors_build_for_every_kind_of_input() -> None:
    """route builds updates through the validator directly (issue 14): the same values, types
    and JSON as ``SessionUpdate(command=ObserveConversation(...))`` and friends."""
    cmd = {"persistentSessionId": str(PSID), "issuedAt": NOW.isoformat(),
           "command": {"type": "close_session", "reason": "done"}}
    routed, parsed = run(
        rec(CONVERSATIONS, json.dumps(conversation_event(CONV, PSID, "connected", NOW)).encode()),
        rec(SNAPSHOTS, json.dumps(snapshot_body(PSID, CONV, NOW, 1)).encode(), offset=1),
        rec(COMMANDS, json.dumps(cmd).encode(), offset=2),
    )
    obs, snap, close = routed.updates
    assert isinstance(parsed[0], Accepted)
    assert isinstance(parsed[1], GuardedSnapshot)
    assert isinstance(parsed[2], SessionCommand)

    def same(u: SessionUpdate, command: Command, source_id: str) -> None:
        slow = SessionUpdate(id=u.id, persistent_session_id=PSID, source_id=source_id,
                             received_at=NOW, command=command)
        assert u == slow
        assert type(u.command) is type(slow.command)
        assert u.to_json_bytes() == slow.to_json_bytes()
        assert u.id.version == 4

    same(obs, ObserveConversation(observation=parsed[0].observation), f"x.{CONVERSATIONS}:0:0")
    same(snap, ApplySnapshot(snapshot=parsed[1].snapshot, content_id=parsed[1].content_id),
         f"x.{SNAPSHOTS}:0:1")
    same(close, parsed[2].command, f"x.{COMMANDS}:0:2")
    [again] = unpark([Parked(CONV, "p:0:9", NOW, parsed[0].observation)], PSID)
    same(again, ObserveConversation(observation=parsed[0].observation), "p:0:9")
    assert len({u.id for u in (obs, snap, close, again)}) == 4
