"""The session context and the PII guard in the customer's attributes
(processor/core/genesys_attributes.py), through ``parse_genesys``."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.core import genesys_attributes
from processor.core.genesys_attributes import as_uuid, is_id
from processor.core.normalise import inspect_genesys
from schemas.observation import Accepted
from schemas.snapshot import SHA256_HEX
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


# ---- the caches of issue 14: answers as without them, and bounded ---------------------------

_ID_FORMS = st.one_of(
    st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
    st.text("0123456789abcdef", min_size=64, max_size=64),
    st.text("0123456789abcdefABCDEF-x {}", min_size=30, max_size=70),
)


@given(_ID_FORMS)
def test_is_id_is_the_id_pattern_and_a_digest_is_sha256_hex(value: str) -> None:
    expected = re.fullmatch(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
        r"|[0-9a-f]{64}", value) is not None
    assert is_id(value) is expected
    assert is_id(value) is expected  # the second answer comes from the set
    if len(value) == 64:
        assert (value in genesys_attributes._IDS) == bool(SHA256_HEX.match(value))


def test_the_id_set_and_the_uuid_cache_stay_bounded() -> None:
    for i in range(genesys_attributes._IDS_MAX + 10):
        text = str(uuid.UUID(int=i))
        assert is_id(text)
        assert as_uuid(text) == uuid.UUID(text)
    assert len(genesys_attributes._IDS) <= genesys_attributes._IDS_MAX
    assert len(genesys_attributes._UUIDS) <= genesys_attributes._UUIDS_MAX


def test_a_pii_value_is_never_kept_in_the_id_set() -> None:
    email = "jane.doe.customer1@example-mail.coop"  # 36 characters, the length of a UUID
    assert len(email) == 36
    assert not is_id(email)
    assert email not in genesys_attributes._IDS
