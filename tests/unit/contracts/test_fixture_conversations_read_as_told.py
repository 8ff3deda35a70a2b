"""The hand-written captures read as the stories they tell: a Web Messaging conversation from
start to inactivity, a legacy web chat with ``context.`` keys, EventBridge-wrapped events."""

from __future__ import annotations

import uuid
from pathlib import Path

from processor.core.normalise import parse_genesys
from schemas.observation import Accepted, ConversationObservation, ConversationState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "contracts"
PSID = uuid.UUID("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e71")
LIVE, ENDED = ConversationState.LIVE, ConversationState.ENDED


def observations(name: str) -> list[ConversationObservation]:
    out = []
    for line in (FIXTURES / name).read_bytes().splitlines():
        result = parse_genesys(line)
        if isinstance(result, Accepted):
            out.append(result.observation)
    return out


def test_web_messaging_lifecycle_goes_live_then_ends_for_inactivity() -> None:
    obs = observations("web_messaging_lifecycle.ndjson")
    assert len({o.conversation_id for o in obs}) == 1
    assert [o.state for o in obs] == [LIVE, None, LIVE, LIVE, LIVE, None, LIVE, ENDED, ENDED,
                                     None, None]
    ended = obs[-4]
    assert ended.source_topic.endswith(".conversations.messages")
    assert ended.disconnect_type == "inactivity"
    assert obs[-3].event == "customer.end"
    assert obs[-3].disconnect_type == "inactivity"
    assert {o.persistent_session_id for o in obs if o.persistent_session_id} == {PSID}
    assert all(o.customer_id_hashed in (None, obs[1].customer_id_hashed) for o in obs)
    assert obs[4].queue_id == "8d2c4e6f-1a3b-4c5d-9e7f-0a1b2c3d4e51"


def test_legacy_web_chat_gives_the_session_from_context_keys_and_flags_the_email() -> None:
    first, last = observations("legacy_web_chat.ndjson")
    assert first.persistent_session_id == uuid.UUID("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e72")
    assert first.resumed_from_conversation_id == uuid.UUID(
        "3f6a1b52-7c1e-4d2a-9b8e-0a1b2c3d4e01")
    assert first.pii_attribute_keys == ["context.email"]
    assert first.media_type == "chat"
    assert first.state is LIVE
    assert last.state is ENDED
    assert last.disconnect_type == "client"


def test_eventbridge_wrapped_detail_events_are_read_like_plain_ones() -> None:
    start, attrs, end = observations("eventbridge_detail.ndjson")
    assert start.state is LIVE
    assert attrs.persistent_session_id == PSID
    assert end.state is ENDED
    assert end.disconnect_type == "session.expired"
