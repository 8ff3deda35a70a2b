"""The normaliser's entry (processor/core/normalise.py): ``parse_genesys`` returns a typed
verdict for any input whatsoever (property tests), its fast reader and the wire models always
reach the same verdict, and a rejection has a stable reason, says which field and quotes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.core.normalise import _parse, inspect_genesys, parse_genesys
from schemas.dlq import DeadLetterReason
from schemas.observation import Accepted, Rejected, Skipped
from tests.unit.core.genesys_records import customer, queue_event, raw

VERDICTS = (Accepted, Skipped, Rejected)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
CID = "0b4e7c8a-1111-4222-8333-444455556666"
TOPICS = st.sampled_from([
    f"v2.routing.queues.{CID}.conversations",
    f"v2.routing.queues.{CID}.conversations.chats",
    f"v2.users.{CID}.conversations.messages",
    f"v2.detail.events.conversation.{CID}.customer.end",
    f"v2.detail.events.conversation.{CID}.attributes",
    "channel.metadata",
    "v2.users.x.presence",
])


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly well-typed values, sometimes anything: where the two readers could part ways."""
    return st.one_of(*[values] * 12, st.none(), JSON)


TIMES = st.sampled_from(["2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00Z",
                         "2024-05-01T12:00:00.5+02:00", "2024-05-01T10:00:00", "2024-W18-3",
                         "2024-05-01 10:00:00", "not a time", "2024-13-01T10:00:00.000Z"])
STATES = st.sampled_from(["alerting", "connected", "disconnected", "terminated", "parked",
                          "CONNECTED", "none", "weird"])
IDS = st.sampled_from([CID, CID, CID, str(uuid.UUID(int=7)), "not-a-uuid", ""])
ATTRS = st.dictionaries(
    st.sampled_from(["persistentSessionId", "context.persistentSessionId", "customerIdHashed",
                     "resumedFromConversationId", "note", "context.email"]),
    _maybe(st.sampled_from([str(uuid.UUID(int=9)), "a" * 64, "ABC", "4111 1111 1111 1111",
                            "test.user@example.com", "+44 20 7946 0958", "plain"])),
    max_size=4,
)
SESSION = st.fixed_dictionaries({}, optional={
    "id": _maybe(IDS), "state": _maybe(STATES), "disconnectType": _maybe(st.just("client")),
    "connectedTime": _maybe(TIMES), "disconnectedTime": _maybe(TIMES),
})
PARTICIPANT = st.fixed_dictionaries({}, optional={
    "id": _maybe(IDS), "purpose": _maybe(st.sampled_from(["customer", "agent", "acd"])),
    "state": _maybe(STATES), "startTime": _maybe(TIMES), "connectedTime": _maybe(TIMES),
    "endTime": _maybe(TIMES), "queueId": _maybe(IDS), "queue": _maybe(st.builds(dict, id=IDS)),
    "attributes": _maybe(ATTRS), "chats": _maybe(st.lists(SESSION, max_size=2)),
    "messages": _maybe(st.lists(SESSION, max_size=2)),
})
BODY = st.fixed_dictionaries({"id": _maybe(IDS), "conversationId": _maybe(IDS)}, optional={
    "participants": _maybe(st.lists(PARTICIPANT, max_size=3)), "participantId": _maybe(IDS),
    "eventTime": _maybe(st.integers(min_value=-5, max_value=2 * 10**15)),
    "disconnectType": _maybe(st.sampled_from(["SESSION_EXPIRED", "CLIENT", "odd"])),
    "mediaType": _maybe(st.just("MESSAGE")), "attributes": _maybe(ATTRS),
})
ENVELOPE = st.fixed_dictionaries(
    {"topicName": TOPICS, "eventBody": st.one_of(BODY, BODY, BODY, BODY, st.none(), JSON)},
    optional={"version": _maybe(st.just("2")),
              "metadata": _maybe(st.fixed_dictionaries({"CorrelationId": _maybe(IDS)}))},
)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_verdict(raw: bytes) -> None:
    assert isinstance(parse_genesys(raw), VERDICTS)


@given(JSON)
def test_arbitrary_json_gives_a_verdict(doc: Any) -> None:
    assert isinstance(parse_genesys(json.dumps(doc).encode()), VERDICTS)


@given(TOPICS, JSON)
def test_arbitrary_bodies_under_tracked_topics_give_a_verdict(topic: str, body: Any) -> None:
    raw = json.dumps({"topicName": topic, "eventBody": body}).encode()
    assert isinstance(parse_genesys(raw), VERDICTS)


@given(ENVELOPE, st.booleans())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_fast_reader_and_wire_models_reach_the_same_verdict(env: Any, wrapped: bool) -> None:
    doc = {"detail-type": "x", "detail": env} if wrapped else env
    raw = json.dumps(doc).encode()
    fast_pii: list[str] = []
    typed_pii: list[str] = []
    fast = _verdict(lambda: _parse(raw, fast_pii))
    typed = _verdict(lambda: _parse(raw, typed_pii, typed_only=True))
    assert fast == typed
    assert fast_pii == typed_pii
    assert inspect_genesys(raw)[0].kind == fast[0]


def _verdict(run: Any) -> tuple[str, Any]:
    from processor.core.parse_errors import Reject as _Reject

    try:
        result = run()
    except _Reject as r:
        return ("rejected", (r.reason, r.detail))
    return (result.kind, result.model_dump())


# ---- rejected, with a stable reason and no values --------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason", "detail"),
    [
        (b"", "invalid_json", ""),
        (b"{not json", "invalid_json", ""),
        (b"\xff\xfe\x00", "invalid_json", ""),
        (b"[1, 2]", "not_an_object", "list"),
        (raw({"eventBody": {}}), "invalid_envelope", "no topicName"),
        (raw({"topicName": "v2.users.u1.conversations"}), "invalid_envelope", "eventBody"),
        (raw({"topicName": "v2.users.u1.conversations", "eventBody": {"participants": []}}),
         "missing_conversation_id", "names no conversation"),
        (raw({"topicName": "v2.users.u1.conversations", "eventBody": {"id": "conv-42"}}),
         "invalid_envelope", "conversation id is not a UUID"),
        (raw({"topicName": "v2.users.u1.conversations", "eventBody": {"id": CID,
              "participants": [{"connectedTime": "yesterday"}]}}), "invalid_envelope",
         "eventBody: participants.0.connectedTime"),
        (raw({"topicName": "v2.users.u1.conversations", "eventBody": {"id": CID},
              "metadata": "oops"}), "invalid_envelope", "metadata"),
        (raw(queue_event(customer({"persistentSessionId": "session-of-test.user@example.com"}))),
         "invalid_envelope", "attribute persistentSessionId is not a UUID"),
    ],
)
def test_unreadable_records_are_rejected_with_a_reason_code_and_a_detail_saying_which_field(
    data: bytes, reason: str, detail: str
) -> None:
    result = parse_genesys(data)
    assert isinstance(result, Rejected)
    assert result.reason == DeadLetterReason(reason)
    assert detail in result.detail


def test_a_rejection_never_quotes_the_record() -> None:
    doc = queue_event(customer({"persistentSessionId": "test.user@example.com"}))
    result = parse_genesys(raw(doc))
    assert isinstance(result, Rejected)
    assert "example.com" not in result.detail
    bad_time = {"topicName": "v2.users.u1.conversations",
                "eventBody": {"id": CID, "participants": [{"endTime": "4111 1111 1111 1111"}]}}
    result = parse_genesys(raw(bad_time))
    assert isinstance(result, Rejected)
    assert "4111" not in result.detail
