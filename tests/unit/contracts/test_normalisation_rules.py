"""The normalisation rules, one table row or test each: what is skipped, what is rejected and
why, how states, times, queues and the session context are read."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from processor.core.normalise import inspect_genesys, parse_genesys
from schemas.dlq import DeadLetterReason
from schemas.observation import Accepted, ConversationObservation, ConversationState, Rejected

CID = "0b4e7c8a-1111-4222-8333-444455556666"
PSID = "9f0c8f8e-7d6c-4b5a-9e8d-1c2b3a4f5e6d"
QUEUE = "6f1c5b1e-0000-4000-8000-000000000001"
LIVE, ENDED = ConversationState.LIVE, ConversationState.ENDED


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def queue_event(*participants: dict[str, Any], topic_suffix: str = "") -> dict[str, Any]:
    return {
        "topicName": f"v2.routing.queues.{QUEUE}.conversations{topic_suffix}",
        "version": "2",
        "eventBody": {"id": CID, "participants": list(participants)},
        "metadata": {"CorrelationId": "corr-1"},
    }


def customer(attrs: dict[str, Any] | None = None, **media: Any) -> dict[str, Any]:
    return {"id": "p-cust", "purpose": "customer", "attributes": attrs or {}, **media}


def detail(event: str, **body: Any) -> dict[str, Any]:
    return {
        "topicName": f"v2.detail.events.conversation.{CID}.{event}",
        "version": "2",
        "eventBody": {"eventTime": 1714557600123, "conversationId": CID,
                      "participantId": "p-1", "mediaType": "MESSAGE", **body},
    }


def observe(doc: Any) -> ConversationObservation:
    result = parse_genesys(raw(doc))
    assert isinstance(result, Accepted), result
    return result.observation


# ---- skipped, never errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}},
         "heartbeat"),
        ({"topicName": "v2.system.socket_closing", "eventBody": {}}, "socket_closing"),
        ({"topicName": "v2.users.u1.presence", "eventBody": {}}, "topic_not_tracked"),
        ({"topicName": f"v2.detail.events.conversation.{CID}.flow.start", "eventBody": {}},
         "topic_not_tracked"),
        ({"topicName": f"v2.routing.queues.{QUEUE}.conversations.calls", "eventBody": {}},
         "topic_not_tracked"),
    ],
)
def test_heartbeats_socket_notices_and_untracked_topics_are_skipped(doc: Any, reason: str) -> None:
    result = parse_genesys(raw(doc))
    assert result.kind == "skipped"
    assert result.reason == reason


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


# ---- states --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sessions", "state", "raw_state"),
    [
        ([{"state": "alerting"}], LIVE, "alerting"),
        ([{"state": "connected"}], LIVE, "connected"),
        ([{"state": "parked"}], LIVE, "parked"),
        ([{"state": "disconnected", "disconnectType": "client"}], ENDED, "disconnected"),
        ([{"state": "terminated"}], ENDED, "terminated"),
        ([{"state": "disconnected"}, {"state": "connected"}], LIVE, "connected"),  # transfer
        ([{"state": "none"}], None, None),
        ([], None, None),
    ],
)
def test_participant_state_is_derived_from_its_media_sessions(
    sessions: list[dict[str, Any]], state: ConversationState | None, raw_state: str | None
) -> None:
    obs = observe(queue_event(customer(messages=sessions)))
    assert obs.participants[0].state is state
    assert obs.participants[0].raw_state == raw_state
    assert obs.state is state  # the conversation's state is the customer's


def test_an_ended_customer_gives_end_time_and_lower_case_disconnect_type() -> None:
    obs = observe(queue_event(customer(chats=[{
        "state": "disconnected", "disconnectType": "Session.Expired",
        "connectedTime": "2024-05-01T10:00:00.000Z",
        "disconnectedTime": "2024-05-01T11:00:00.000Z"}])))
    assert obs.state is ENDED
    assert obs.disconnect_type == "session.expired"
    assert obs.ended_at == datetime(2024, 5, 1, 11, tzinfo=UTC)
    assert obs.started_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert obs.media_type == "chat"


def test_the_media_variants_carry_state_start_and_queue_on_the_participant() -> None:
    doc = queue_event(
        {"id": "p-cust", "purpose": "customer", "state": "connected",
         "startTime": "2024-05-01T09:59:00.000Z", "connectedTime": "2024-05-01T10:00:00.000Z"},
        {"id": "p-acd", "purpose": "acd", "state": "disconnected", "disconnectType": "transfer",
         "queue": {"id": "queue-from-ref"}},
        topic_suffix=".messages",
    )
    obs = observe(doc)
    assert obs.state is LIVE
    assert obs.started_at == datetime(2024, 5, 1, 9, 59, tzinfo=UTC)
    assert obs.queue_id == "queue-from-ref"
    assert obs.media_type == "message"
    assert obs.participants[1].state is ENDED
    assert obs.participants[1].disconnect_type == "transfer"


def test_without_a_customer_leg_the_conversation_is_live_while_any_leg_is() -> None:
    agent = {"id": "p-agent", "purpose": "agent", "messages": [{"state": "connected"}]}
    obs = observe(queue_event(agent))
    assert obs.customer_participant_id is None
    assert obs.state is LIVE


def test_times_are_utc_even_when_a_capture_has_offsets_or_none() -> None:
    obs = observe(queue_event(customer(messages=[{
        "state": "connected", "connectedTime": "2024-05-01T12:00:00.000+02:00"}])))
    assert obs.started_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert obs.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    obs = observe(queue_event(customer(messages=[{
        "state": "connected", "connectedTime": "2024-05-01T10:00:00"}])))
    assert obs.started_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_queue_comes_from_the_acd_leg_else_from_the_topic() -> None:
    acd = {"id": "p-acd", "purpose": "acd", "queueId": "q-acd",
           "messages": [{"state": "disconnected"}]}
    assert observe(queue_event(customer(), acd)).queue_id == "q-acd"
    assert observe(queue_event(customer())).queue_id == QUEUE


def test_correlation_id_is_kept() -> None:
    assert observe(queue_event(customer())).correlation_id == "corr-1"


# ---- detail events -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "conversation_state", "participant_state", "purpose"),
    [
        ("customer.start", LIVE, LIVE, "customer"),
        ("customer.end", ENDED, ENDED, "customer"),
        ("acd.start", LIVE, LIVE, "acd"),
        ("acd.end", None, ENDED, "acd"),  # the queue leg ends when an agent answers
        ("user.start", LIVE, LIVE, "agent"),
        ("user.end", None, ENDED, "agent"),
        ("acw", None, None, "agent"),
        ("attributes", None, None, None),
    ],
)
def test_detail_events_set_states_by_leg_and_phase(
    event: str,
    conversation_state: ConversationState | None,
    participant_state: ConversationState | None,
    purpose: str | None,
) -> None:
    obs = observe(detail(event, disconnectType="CLIENT"))
    assert obs.event == event
    assert obs.state is conversation_state
    assert obs.participants[0].state is participant_state
    assert obs.participants[0].purpose == purpose
    assert obs.event_time == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert obs.media_type == "message"


@pytest.mark.parametrize(
    ("wire", "ours"),
    [("CLIENT", "client"), ("INACTIVITY", "inactivity"), ("SESSION_EXPIRED", "session.expired"),
     ("TRANSPORT_FAILURE", "transport.failure"), ("CONSULT_TRANSFER", "transfer.consult"),
     ("SOMETHING_NEW", "something_new")],
)
def test_customer_end_gives_the_disconnect_type_in_the_conversation_topics_words(
    wire: str, ours: str
) -> None:
    obs = observe(detail("customer.end", disconnectType=wire))
    assert obs.disconnect_type == ours
    assert obs.ended_at == obs.event_time
    assert obs.customer_participant_id == "p-1"


def test_an_eventbridge_wrapped_detail_event_reads_like_the_plain_one() -> None:
    plain = detail("customer.start")
    wrapped = {"version": "0", "id": "evt-1", "detail-type": "v2.detail.events.customer.start",
               "source": "aws.partner/genesys.com/x", "detail": plain}
    assert observe(wrapped) == observe(plain)


# ---- the session context in the customer's attributes ---------------------------------------


@pytest.mark.parametrize("prefix", ["", "context."])
def test_session_context_is_read_under_plain_and_context_keys(prefix: str) -> None:
    previous = str(uuid.UUID(int=5))
    obs = observe(queue_event(customer({
        f"{prefix}persistentSessionId": PSID,
        f"{prefix}customerIdHashed": "ab" * 32,
        f"{prefix}resumedFromConversationId": previous,
    })))
    assert obs.persistent_session_id == uuid.UUID(PSID)
    assert obs.customer_id_hashed == "ab" * 32
    assert obs.resumed_from_conversation_id == uuid.UUID(previous)
    assert obs.pii_attribute_keys == []


def test_the_plain_key_wins_over_the_context_key() -> None:
    other = str(uuid.UUID(int=3))
    obs = observe(queue_event(customer({"context.persistentSessionId": other,
                                        "persistentSessionId": PSID})))
    assert obs.persistent_session_id == uuid.UUID(PSID)


def test_only_the_customers_attributes_give_the_session() -> None:
    agent = {"id": "p-agent", "purpose": "agent", "attributes": {"persistentSessionId": PSID}}
    assert observe(queue_event(customer(), agent)).persistent_session_id is None


def test_an_unhashed_customer_id_is_dropped_and_reported() -> None:
    obs = observe(queue_event(customer({"customerIdHashed": "CUST-000042"})))
    assert obs.customer_id_hashed is None
    assert obs.pii_attribute_keys == ["customerIdHashed"]
    assert "CUST-000042" not in obs.model_dump_json()


@pytest.mark.parametrize(
    ("value", "kind"),
    [("4111 1111 1111 1111", "card_number"), ("test.user@example.com", "email"),
     ("123-45-6789", "ssn"), ("+44 20 7946 0958", "phone")],
)
def test_attributes_carrying_pii_are_named_and_their_values_kept_out(value: str, kind: str) -> None:
    doc = queue_event(customer({"persistentSessionId": PSID, "context.note": f"it is {value}"}))
    result, kinds = inspect_genesys(raw(doc))
    assert isinstance(result, Accepted)
    assert result.observation.pii_attribute_keys == ["context.note"]
    assert kinds == [kind]
    assert value not in result.model_dump_json()


def test_a_malformed_resumed_from_id_is_dropped_not_fatal() -> None:
    obs = observe(queue_event(customer({"resumedFromConversationId": "previous-one"})))
    assert obs.resumed_from_conversation_id is None


def test_unknown_fields_are_ignored() -> None:
    doc = queue_event(customer(messages=[{"state": "connected", "brandNewField": {"x": [1]}}]))
    doc["brandNewTopLevel"] = True
    doc["eventBody"]["brandNewBodyField"] = [None]
    assert observe(doc).state is LIVE
