"""GET /v1/sessions/{id}/context: the seed's getChatContext, only for the session's customer.

The processor writes sessions and conversations; here plain SQL stands in for it, so these tests
pin the API's reading of the tables (the e2e tier drives the real worker).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from tests.integration.api.support import RunningApi, customer_hash

pytestmark = pytest.mark.integration

SNAPSHOT = {"intent": "billing", "stepsCompleted": 3, "lastAgentMessage": "Thanks, one moment"}


async def _worker_saw_a_conversation(
    db: asyncpg.Connection, psid: uuid.UUID, *, status: str = "active"
) -> uuid.UUID:
    conversation = uuid.uuid4()
    await db.execute(
        "INSERT INTO session_conversations (conversation_id, persistent_session_id, state,"
        " media_type, started_at, first_seen_at, updated_at)"
        " VALUES ($1, $2, 'live', 'message', now(), now(), now())", conversation, psid)
    await db.execute(
        "UPDATE sessions SET status=$2, current_conversation_id=$3, latest_snapshot=$4,"
        " latest_snapshot_at=now(), last_interaction_at=now(), version=version+1"
        " WHERE persistent_session_id=$1", psid, status, conversation, SNAPSHOT)
    return conversation


async def _context(api: RunningApi, psid: Any, customer: str | None) -> Any:
    headers = {"X-Customer-Id-Hashed": customer} if customer else {}
    return await api.client.get(f"/v1/sessions/{psid}/context", headers=headers)


async def test_an_active_session_returns_the_conversation_to_resume_and_its_snapshot(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    psid = uuid.UUID((await api.issue(customer_hash()))["persistentSessionId"])
    conversation = await _worker_saw_a_conversation(db, psid)
    r = await _context(api, psid, customer_hash())
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["persistentSessionId"] == str(psid)
    assert body["status"] == "active"
    assert body["resumable"] is True
    assert body["conversationId"] == str(conversation)
    assert body["resumeFromConversationId"] is None
    assert body["notice"] is None
    assert body["latestSnapshot"] == SNAPSHOT
    assert body["lastInteractionAt"]
    assert body["expiresAt"]
    assert [c["conversationId"] for c in body["conversations"]] == [str(conversation)]


async def test_a_fresh_session_has_no_conversation_yet(api: RunningApi) -> None:
    psid = (await api.issue(customer_hash()))["persistentSessionId"]
    body = (await _context(api, psid, customer_hash())).json()
    assert body["status"] == "idle"
    assert body["resumable"] is True
    assert body["conversationId"] is None
    assert body["conversations"] == []
    assert body["latestSnapshot"] is None


@pytest.mark.parametrize("status", ["expired", "archived"])
async def test_an_ended_session_carries_the_old_conversation_and_the_notice(
    api: RunningApi, db: asyncpg.Connection, status: str
) -> None:
    psid = uuid.UUID((await api.issue(customer_hash()))["persistentSessionId"])
    old = await _worker_saw_a_conversation(db, psid, status=status)
    body = (await _context(api, psid, customer_hash())).json()
    assert body["status"] == status
    assert body["resumable"] is False
    assert body["conversationId"] is None
    assert body["resumeFromConversationId"] == str(old)
    assert body["notice"] == f"Resuming from archived session ID: {old}"
    assert body["latestSnapshot"] == SNAPSHOT  # the context survives expiry: that is the point


async def test_a_session_past_its_expiry_time_is_treated_as_expired(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    psid = uuid.UUID((await api.issue(customer_hash()))["persistentSessionId"])
    old = await _worker_saw_a_conversation(db, psid, status="idle")
    await db.execute("UPDATE sessions SET expires_at = now() - interval '1 second'"
                     " WHERE persistent_session_id=$1", psid)
    body = (await _context(api, psid, customer_hash())).json()
    assert body["resumable"] is False
    assert body["resumeFromConversationId"] == str(old)
    assert body["notice"] == f"Resuming from archived session ID: {old}"


async def test_a_closed_session_is_not_resumable_and_has_no_notice(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    psid = uuid.UUID((await api.issue(customer_hash()))["persistentSessionId"])
    await _worker_saw_a_conversation(db, psid, status="closed")
    body = (await _context(api, psid, customer_hash())).json()
    assert body["resumable"] is False
    assert body["conversationId"] is None
    assert body["notice"] is None


async def test_the_customer_may_be_given_as_a_query_parameter(api: RunningApi) -> None:
    psid = (await api.issue(customer_hash()))["persistentSessionId"]
    r = await api.client.get(f"/v1/sessions/{psid}/context",
                             params={"customerIdHashed": customer_hash()})
    assert r.status_code == 200


async def test_unknown_wrong_customer_and_missing_customer_all_get_the_same_404(
    api: RunningApi
) -> None:
    psid = (await api.issue(customer_hash("customer-1")))["persistentSessionId"]
    unknown = await _context(api, uuid.uuid4(), customer_hash("customer-1"))
    foreign = await _context(api, psid, customer_hash("customer-2"))
    missing = await _context(api, psid, None)
    malformed = await _context(api, psid, "customer-1")
    for r in (unknown, foreign, missing, malformed):
        assert r.status_code == 404
        assert r.json() == unknown.json() == {
            "error": "not_found", "message": "no such session", "detail": []}


async def test_a_session_id_that_is_not_a_uuid_is_422(api: RunningApi) -> None:
    r = await _context(api, "not-a-uuid", customer_hash())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == "path.persistentSessionId"
