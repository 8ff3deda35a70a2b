"""GET /v1/customers/context and the renewal's answers (issue 17, item 1), and POST /v1/sessions
announcing the session on its partition (item 2). Plain SQL stands in for the worker here; the
e2e tier (tests/e2e/flow/test_three_day_return.py) drives the real one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from processor.core.resumption import resume_notice
from schemas.commands import SessionCommand, SessionIssued
from tests.integration.api.support import (
    BACKEND_ID,
    RunningApi,
    StackSlice,
    api_settings,
    bearer,
    customer_hash,
    read_topic,
    running_api,
)

pytestmark = pytest.mark.integration

SNAPSHOT = {"intent": "billing", "stepsCompleted": 3, "lastAgentMessage": "Thanks, one moment"}


async def _conversation(db: asyncpg.Connection, psid: uuid.UUID, state: str = "live",
                        at: datetime | None = None) -> uuid.UUID:
    conversation = uuid.uuid4()
    await db.execute(
        "INSERT INTO session_conversations (conversation_id, persistent_session_id, state,"
        " first_seen_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        conversation, psid, state, at or datetime.now(UTC))
    return conversation


async def _expired_with_snapshot(db: asyncpg.Connection, psid: uuid.UUID) -> uuid.UUID:
    conversation = await _conversation(db, psid, "ended")
    await db.execute(
        "UPDATE sessions SET status='expired', current_conversation_id=$2, latest_snapshot=$3,"
        " latest_snapshot_at=now(), expires_at=now() - interval '1 hour', version=3"
        " WHERE persistent_session_id=$1", psid, conversation, SNAPSHOT)
    return conversation


async def _customer_context(api: RunningApi, customer: str) -> Any:
    r = await api.client.get("/v1/customers/context", headers={"X-Customer-Id-Hashed": customer})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


async def test_a_customer_with_no_session_is_told_to_start_one(api: RunningApi) -> None:
    body = await _customer_context(api, customer_hash("nobody"))
    assert body == {"state": "none", "persistentSessionId": None, "session": None,
                    "predecessor": None}


async def test_a_live_session_is_answered_with_its_context(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    psid = uuid.UUID((await api.issue(customer_hash()))["persistentSessionId"])
    body = await _customer_context(api, customer_hash())
    assert body["state"] == "live"
    assert body["persistentSessionId"] == str(psid)
    assert body["session"]["resumable"] is True
    assert body["predecessor"] is None


async def test_after_an_expiry_the_issue_and_every_context_carry_the_predecessor_until_its_own_snapshot(  # noqa: E501
    api: RunningApi, db: asyncpg.Connection
) -> None:
    customer = customer_hash("returning")
    old = uuid.UUID((await api.issue(customer))["persistentSessionId"])
    old_conversation = await _expired_with_snapshot(db, old)

    lapsed = await _customer_context(api, customer)
    assert lapsed["state"] == "none"  # issue one; here is what it resumes from
    assert lapsed["predecessor"]["persistentSessionId"] == str(old)
    assert lapsed["predecessor"]["resumeFromConversationId"] == str(old_conversation)
    assert lapsed["predecessor"]["notice"] == resume_notice(old_conversation)
    assert lapsed["predecessor"]["latestSnapshot"] == SNAPSHOT

    issued = await api.issue(customer)
    new = issued["persistentSessionId"]
    assert issued["created"] is True
    assert issued["previousSessionId"] == str(old)
    assert issued["resumeFromConversationId"] == str(old_conversation)
    assert issued["notice"] == f"Resuming from archived session ID: {old_conversation}"
    assert issued["predecessor"]["latestSnapshot"] == SNAPSHOT

    renewed = await _customer_context(api, customer)
    assert renewed["state"] == "renewed"
    assert renewed["persistentSessionId"] == new
    session = renewed["session"]
    assert session["latestSnapshot"] == SNAPSHOT  # the predecessor's, in the same call
    assert session["notice"] == resume_notice(old_conversation)
    assert session["resumeFromConversationId"] == str(old_conversation)
    by_id = await api.client.get(f"/v1/sessions/{new}/context",
                                 headers={"X-Customer-Id-Hashed": customer})
    assert by_id.json()["predecessor"] == session["predecessor"]

    own = {"intent": "refund", "stepsCompleted": 1}
    await db.execute("UPDATE sessions SET latest_snapshot=$2, latest_snapshot_at=now()"
                     " WHERE persistent_session_id=$1", uuid.UUID(new), own)
    live = await _customer_context(api, customer)
    assert live["state"] == "live"
    assert live["predecessor"] is None
    assert live["session"]["latestSnapshot"] == own
    assert live["session"]["notice"] is None


async def test_the_context_says_another_conversation_is_live_right_now(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    customer = customer_hash("two-tabs")
    psid = uuid.UUID((await api.issue(customer))["persistentSessionId"])
    first = await _conversation(db, psid)
    body = await _customer_context(api, customer)
    assert body["session"]["liveConversationIds"] == [str(first)]


async def test_the_context_lists_the_latest_50_conversations_and_counts_them_all(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    customer = customer_hash("busy")
    psid = uuid.UUID((await api.issue(customer))["persistentSessionId"])
    start = datetime.now(UTC) - timedelta(days=1)
    made = [await _conversation(db, psid, "ended", start + timedelta(minutes=i))
            for i in range(55)]
    body = (await _customer_context(api, customer))["session"]
    assert body["conversationCount"] == 55
    assert [c["conversationId"] for c in body["conversations"]] == [str(c) for c in made[5:]]
    assert body["liveConversationIds"] == []


async def test_a_header_that_is_not_a_hash_is_a_422_and_no_token_a_401(api: RunningApi) -> None:
    r = await api.client.get("/v1/customers/context", headers={"X-Customer-Id-Hashed": "bob"})
    assert r.status_code == 422
    assert "bob" not in r.text
    assert (await api.client.get("/v1/customers/context")).status_code == 422
    r = await api.anonymous.get("/v1/customers/context",
                                headers={"X-Customer-Id-Hashed": customer_hash()})
    assert r.status_code == 401


async def test_the_web_back_ends_sessions_scope_is_enough(api: RunningApi) -> None:
    token = await api.token(BACKEND_ID)
    r = await api.anonymous.get("/v1/customers/context", headers={
        **bearer(token), "X-Customer-Id-Hashed": customer_hash()})
    assert r.status_code == 200


async def test_an_issued_session_is_announced_once_on_its_partition(
    api: RunningApi, env: StackSlice
) -> None:
    customer = customer_hash("announced")
    first = await api.issue(customer)
    again = await api.issue(customer)  # live, version 0: announced again (the worker dedupes)
    assert again["created"] is False
    records = await read_topic(env.kafka_bootstrap, env.topic("chat.session-commands"), expect=2)
    commands = [SessionCommand.model_validate_json(r.value) for r in records]
    assert len(commands) == 2
    for r, c in zip(records, commands, strict=True):
        assert r.key == first["persistentSessionId"].encode()
        assert isinstance(c.command, SessionIssued)
        assert c.command.customer_id_hashed == customer
        assert c.command.expires_at is not None


async def test_an_issue_kafka_did_not_take_is_503_and_the_retry_returns_and_announces_it(
    env: StackSlice,
) -> None:
    customer = customer_hash("kafka-down")
    async with running_api(api_settings(env.settings(), api_produce_timeout_s=1.0),
                           kafka_bootstrap="127.0.0.1:1", database_url=env.database_url) as api:
        r = await api.client.post("/v1/sessions", json={"customerIdHashed": customer})
        assert r.status_code == 503
    async with running_api(api_settings(env.settings()), kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        retried = await api.issue(customer)
    assert retried["created"] is False  # the row was written: the same session
    [record] = await read_topic(env.kafka_bootstrap, env.topic("chat.session-commands"), expect=1)
    assert record.key == retried["persistentSessionId"].encode()


async def test_a_session_started_on_first_sight_that_lapsed_is_what_the_issued_one_continues(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    customer = customer_hash("first-sight")
    old = uuid.uuid4()  # issued by another back end: the worker started it on first sight
    await db.execute(
        "INSERT INTO sessions (persistent_session_id, status, version, customer_id_hashed,"
        " latest_snapshot, latest_snapshot_at, created_at, updated_at)"
        " VALUES ($1, 'expired', 4, $2, $3, now(), now() - interval '4 days', now())",
        old, customer, SNAPSHOT)
    conversation = await _conversation(db, old, "ended")
    told = await _customer_context(api, customer)
    assert told["state"] == "none"
    assert told["predecessor"]["persistentSessionId"] == str(old)
    issued = await api.issue(customer)
    assert issued["previousSessionId"] == str(old)
    assert issued["predecessor"]["latestSnapshot"] == SNAPSHOT
    assert issued["resumeFromConversationId"] == str(conversation)
    assert (await _customer_context(api, customer))["state"] == "renewed"
