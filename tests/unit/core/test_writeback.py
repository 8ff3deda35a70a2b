"""The write-back decision: told once, only when the session has history, never PII."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from processor.core.writeback import (
    NOTICE_KEY,
    SUMMARY_KEY,
    WritebackRequest,
    summary,
    writeback_for,
)
from schemas.observation import ConversationObservation, ConversationState
from schemas.session import ConversationRecord, SessionState, SessionStatus

T = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PSID = uuid.uuid4()
OLD, NEW = uuid.uuid4(), uuid.uuid4()


def conv(
    cid: uuid.UUID, state: ConversationState, at: datetime, resumed: uuid.UUID | None = None
) -> ConversationRecord:
    return ConversationRecord(
        conversation_id=cid,
        state=state,
        first_seen_at=at,
        updated_at=at,
        resumed_from_conversation_id=resumed,
        media_type="message",
    )


def session(
    *convs: ConversationRecord,
    snapshot: dict[str, object] | None = None,
    status: SessionStatus = SessionStatus.IDLE,
) -> SessionState:
    return SessionState(
        persistent_session_id=PSID,
        status=status,
        conversations=list(convs),
        latest_snapshot=snapshot,
        latest_snapshot_at=T if snapshot else None,
        created_at=T,
        updated_at=T,
    )


def obs(
    cid: uuid.UUID = NEW, participant: str | None = "cust-1", media: str = "message"
) -> ConversationObservation:
    return ConversationObservation(
        conversation_id=cid,
        source_topic="v2.routing.queues.q.conversations",
        state=ConversationState.LIVE,
        media_type=media,
        customer_participant_id=participant,
    )


SNAP = {"intent": "billing", "stepsCompleted": 3, "lastAgentMessage": "call me on 415 555 0100"}


def test_returning_customer_gets_notice_and_summary() -> None:
    before = session(conv(OLD, ConversationState.ENDED, T), snapshot=SNAP)
    after = session(
        conv(OLD, ConversationState.ENDED, T),
        conv(NEW, ConversationState.LIVE, T + timedelta(hours=1)),
        snapshot=SNAP,
    )
    req = writeback_for(before, after, obs())
    assert req is not None
    assert req.attributes[NOTICE_KEY] == f"Resuming from archived session ID: {OLD}"
    assert (
        req.attributes[SUMMARY_KEY]
        == "Last time: intent billing, 3 steps completed, 2026-01-01 12:00 UTC."
    )
    assert (req.conversation_id, req.participant_id, req.media) == (NEW, "cust-1", "message")
    assert WritebackRequest.from_json(req.to_json()) == req
    key, value = req.record()
    assert key == str(NEW).encode()
    assert WritebackRequest.from_json(json.loads(value)) == req


def test_expired_predecessor_named_by_the_lifecycle_is_used() -> None:
    prev = uuid.uuid4()
    after = session(conv(NEW, ConversationState.LIVE, T, resumed=prev), status=SessionStatus.ACTIVE)
    req = writeback_for(None, after, obs(media="chat"))
    assert req is not None
    assert req.resumed_from_conversation_id == prev
    assert req.media == "chat"
    assert req.attributes[SUMMARY_KEY] == "No saved state yet."


def test_no_request_without_history_twice_or_without_participant() -> None:
    first = session(conv(NEW, ConversationState.LIVE, T))
    assert writeback_for(None, first, obs()) is None  # a first conversation: nothing to resume
    before = session(conv(OLD, ConversationState.ENDED, T), conv(NEW, ConversationState.LIVE, T))
    assert writeback_for(before, before, obs()) is None  # already seen: told already
    after = session(conv(OLD, ConversationState.ENDED, T), conv(NEW, ConversationState.LIVE, T))
    assert (
        writeback_for(session(conv(OLD, ConversationState.ENDED, T)), after, obs(participant=None))
        is None
    )
    ended = session(conv(OLD, ConversationState.ENDED, T), conv(NEW, ConversationState.ENDED, T))
    assert writeback_for(session(conv(OLD, ConversationState.ENDED, T)), ended, obs()) is None


SHAPE = re.compile(
    r"^Last time: (intent [A-Za-z0-9_. -]{1,64}, )?(\d{1,4} steps? completed, )?"
    r"2026-01-01 12:00 UTC\.$"
)


@given(
    st.dictionaries(
        st.sampled_from(["intent", "stepsCompleted", "lastAgentMessage", "x"]),
        st.one_of(st.text(), st.integers(), st.lists(st.text(), max_size=3)),
    )
)
def test_summary_holds_only_a_label_a_count_and_the_time(snapshot: dict[str, object]) -> None:
    """Free text (lastAgentMessage, any other key, an intent that is not a label) never
    reaches the agent's participant data: PII hides in free text."""
    text = summary(snapshot, T)
    assert SHAPE.match(text), text
    without_free_text = {k: v for k, v in snapshot.items() if k in ("intent", "stepsCompleted")}
    assert summary(without_free_text, T) == text
