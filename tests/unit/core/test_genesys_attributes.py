"""The session context and the PII guard in the customer's attributes
(processor/core/genesys_attributes.py), through ``parse_genesys``."""

from __future__ import annotations

import uuid

import pytest

from processor.core.normalise import inspect_genesys
from schemas.observation import Accepted
from tests.unit.core.genesys_records import (
    PSID,
    customer,
    observe,
    queue_event,
    raw,
)


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
