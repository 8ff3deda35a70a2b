"""The fast reader's rules (processor/core/genesys_reader.py), one table row or test each:
how participant and conversation states, queues and detail events are read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.observation import ConversationState
from tests.unit.core.genesys_records import (
    ENDED,
    LIVE,
    QUEUE,
    customer,
    detail,
    observe,
    queue_event,
)


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


def test_queue_comes_from_the_acd_leg_else_from_the_topic() -> None:
    acd = {"id": "p-acd", "purpose": "acd", "queueId": "q-acd",
           "messages": [{"state": "disconnected"}]}
    assert observe(queue_event(customer(), acd)).queue_id == "q-acd"
    assert observe(queue_event(customer())).queue_id == QUEUE


def test_correlation_id_is_kept() -> None:
    assert observe(queue_event(customer())).correlation_id == "corr-1"


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


def test_unknown_fields_are_ignored() -> None:
    doc = queue_event(customer(messages=[{"state": "connected", "brandNewField": {"x": [1]}}]))
    doc["brandNewTopLevel"] = True
    doc["eventBody"]["brandNewBodyField"] = [None]
    assert observe(doc).state is LIVE
