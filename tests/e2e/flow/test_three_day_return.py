"""The seed's headline case through the API and the worker: a customer chats, leaves, and comes
back after the session expired (the TTL is seconds here instead of 72 hours). The new session
is announced on chat.sessions at once, the new Genesys conversation is tagged with the old one,
and ONE context call answers with the notice and the predecessor's snapshot."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from processor.core.resumption import resume_notice
from schemas.alerts import Alert, AlertType, Severity
from tests.conftest import StackSlice
from tests.e2e.api.conftest import ServedApi
from tests.integration.worker.harness import (
    CUSTOMER_HASH,
    Feeder,
    Worker,
    conversation_event,
    eventually,
    read_topic,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TTL_S = 12  # "three days", scaled: long enough for the last calls to see the renewal live


async def _states(env: StackSlice, psid: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in await read_topic(env, "chat.sessions")
            if r.key == psid.encode() and r.value is not None]


async def test_a_customer_returning_after_expiry_gets_notice_and_snapshot_in_one_call(
    served_api: ServedApi, env: StackSlice, tmp_path: Path
) -> None:
    customer = CUSTOMER_HASH  # what the Genesys events' attributes carry (harness)
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}",
                    session_ttl=f"PT{TTL_S}S").start()
    first_conversation, second_conversation = uuid.uuid4(), uuid.uuid4()
    try:
        async with httpx.AsyncClient(base_url=served_api.base_url) as http, Feeder(env) as feed:
            auth = served_api.auth()
            who = {**auth, "X-Customer-Id-Hashed": customer}

            # Day 1: a session, a conversation, a snapshot from the data action.
            issued = await http.post("/v1/sessions", json={"customerIdHashed": customer},
                                     headers=auth)
            assert issued.status_code == 201
            old = issued.json()["persistentSessionId"]
            announced = await eventually(lambda: _states(env, old), worker=worker,
                                         what="the issued session on chat.sessions")
            assert announced[0]["lifecycleEvent"] == "issued"  # before any conversation
            await feed.event(conversation_event(first_conversation, uuid.UUID(old), "connected",
                                                datetime.now(UTC)))
            snapshot = {"intent": "billing_dispute", "stepsCompleted": 3,
                        "lastAgentMessage": "I will check the refund"}
            persisted = await http.post("/v1/chat-state/persist", headers=auth, json={
                "persistentSessionId": old, "conversationId": str(first_conversation),
                "timestamp": datetime.now(UTC).isoformat(), "stateSnapshot": snapshot})
            assert persisted.status_code == 202
            await feed.event(conversation_event(first_conversation, uuid.UUID(old),
                                                "disconnected", datetime.now(UTC)))

            # The customer leaves; the session expires (a lifecycle event, an info alert).
            async def expired() -> list[dict[str, Any]]:
                return [s for s in await _states(env, old) if s["status"] == "expired"]

            [expiry] = await eventually(expired, timeout=TTL_S + 60, worker=worker,
                                        what="the expiry on chat.sessions")
            assert expiry["lifecycleEvent"] == "expired"
            assert expiry["latestSnapshot"] == snapshot
            alerts = [Alert.model_validate_json(r.value)
                      for r in await read_topic(env, "chat.alerts")]
            [alert] = [a for a in alerts if a.type is AlertType.SESSION_EXPIRED]
            assert alert.severity is Severity.INFO  # paging rules skip routine expiry

            # Day 4: the page asks, from the customer alone.
            back = (await http.get("/v1/customers/context", headers=who)).json()
            assert back["state"] == "none"
            assert back["predecessor"]["resumeFromConversationId"] == str(first_conversation)
            renewal = await http.post("/v1/sessions", json={"customerIdHashed": customer},
                                      headers=auth)
            assert renewal.status_code == 201
            new = renewal.json()["persistentSessionId"]
            assert renewal.json()["previousSessionId"] == old
            assert renewal.json()["notice"] == resume_notice(first_conversation)

            # The new Genesys conversation carries the new id and is tagged with the old one.
            await feed.event(conversation_event(second_conversation, uuid.UUID(new), "connected",
                                                datetime.now(UTC),
                                                resumed_from=first_conversation))

            async def renewed() -> dict[str, Any] | None:
                body: dict[str, Any] = (await http.get("/v1/customers/context",
                                                       headers=who)).json()
                session = body.get("session") or {}
                return body if session.get("conversationId") == str(second_conversation) else None

            one_call = await eventually(renewed, worker=worker, what="the renewal's context")
        assert one_call["state"] == "renewed"
        assert one_call["persistentSessionId"] == new
        session = one_call["session"]
        assert session["notice"] == f"Resuming from archived session ID: {first_conversation}"
        assert session["latestSnapshot"] == snapshot  # the predecessor's, in the same answer
        assert session["previousSessionId"] == old
        [conversation] = session["conversations"]
        assert conversation["resumedFromConversationId"] == str(first_conversation)
        assert session["liveConversationIds"] == [str(second_conversation)]
        assert one_call["predecessor"]["persistentSessionId"] == old
    finally:
        worker.stop()
