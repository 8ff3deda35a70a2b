"""Erasure end to end (issue 17, item 3): a customer with two sessions (one expired, one live),
conversations, snapshots and alerts is erased through the API and the worker; afterwards no
table holds any of their ids or their hash, chat.sessions ends each session with a tombstone,
another customer is untouched, and a late event for an erased session does not bring it back."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import StackSlice
from tests.e2e.api.conftest import ServedApi
from tests.integration.api.support import ERASER_ID
from tests.integration.worker.harness import (
    CUSTOMER_HASH,
    Feeder,
    Worker,
    connect,
    conversation_event,
    eventually,
    internal_progress,
    read_topic,
    snapshot_body,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TTL_S = 4


async def _everything(env: StackSlice) -> str:
    """Every row of every table of the database, as text."""
    conn = await connect(env)
    try:
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        rows = [await conn.fetch(f'SELECT t::text FROM "{t}" t') for t in tables]
        return "\n".join(r[0] for table in rows for r in table)
    finally:
        await conn.close()


async def test_an_erased_customer_leaves_nothing_in_postgresql_and_tombstones_on_chat_sessions(
    served_api: ServedApi, env: StackSlice, tmp_path: Path
) -> None:
    customer = CUSTOMER_HASH  # the harness's events carry it in their attributes
    other = hashlib.sha256(b"another-customer").hexdigest()
    app_id = f"w-{uuid.uuid4().hex[:6]}"
    worker = Worker(env, tmp_path / "worker.log", app_id, session_ttl=f"PT{TTL_S}S").start()
    conversations = [uuid.uuid4(), uuid.uuid4()]
    try:
        async with httpx.AsyncClient(base_url=served_api.base_url) as http, Feeder(env) as feed:
            auth = served_api.auth()

            async def issue(who: str) -> str:
                r = await http.post("/v1/sessions", json={"customerIdHashed": who}, headers=auth)
                assert r.status_code in (200, 201), r.text
                return str(r.json()["persistentSessionId"])

            async def chat(psid: str, conversation: uuid.UUID) -> None:
                now = datetime.now(UTC)
                await feed.event(conversation_event(conversation, uuid.UUID(psid), "connected",
                                                    now))
                body = snapshot_body(uuid.UUID(psid), conversation, now, 2,
                                     message="write to me at jane.synthetic@example.com")
                await feed.snapshot(body)  # PII: an alert naming the session

            first = await issue(customer)
            await chat(first, conversations[0])
            await feed.event(conversation_event(conversations[0], uuid.UUID(first),
                                                "disconnected", datetime.now(UTC)))

            async def status(psid: str) -> str | None:
                conn = await connect(env)
                try:
                    return await conn.fetchval(
                        "SELECT status FROM sessions WHERE persistent_session_id = $1",
                        uuid.UUID(psid))
                finally:
                    await conn.close()

            await eventually(lambda: _is(status(first), "expired"), timeout=TTL_S + 60,
                             worker=worker, what="the first session expired")
            second = await issue(customer)
            await chat(second, conversations[1])
            kept = await issue(other)
            await eventually(lambda: _is(status(second), "active"), worker=worker,
                             what="the second session applied")
            assert str(conversations[1]) in await _everything(env)

            eraser = served_api.auth(ERASER_ID)
            r = await http.post("/v1/erasures", json={"customerIdHashed": customer},
                                headers=eraser)
            assert r.status_code == 202, r.text
            assert r.json()["sessions"] == 2
            erasure_id = r.json()["erasureId"]

            async def done() -> dict[str, Any] | None:
                got: dict[str, Any] = (await http.get(f"/v1/erasures/{erasure_id}",
                                                      headers=eraser)).json()
                return got if got["status"] == "completed" else None

            audit = await eventually(done, worker=worker, what="the erasure completed")
        assert audit["sessionsErased"] == 2
        assert audit["rowsDeleted"] >= 8  # 2 sessions, 2 issued ids, 2 conversations, 2 snapshots
        assert audit["requestedBy"] == ERASER_ID

        left = await _everything(env)
        for trace in [first, second, customer, *(str(c) for c in conversations)]:
            assert trace not in left, "something of the erased customer is left"
        assert kept in left  # another customer is untouched

        ends: dict[bytes, Any] = {}
        for record in await read_topic(env, "chat.sessions"):
            ends[record.key] = record.value
        assert ends[first.encode()] is None  # a tombstone is each erased session's last word
        assert ends[second.encode()] is None
        assert json.loads(ends[kept.encode()])["customerIdHashed"] == other

        # A replayed dead letter / late event for an erased session changes nothing.
        before = (await internal_progress(env, app_id))[1]
        async with Feeder(env) as feed:
            await feed.snapshot(snapshot_body(uuid.UUID(first), conversations[0],
                                              datetime.now(UTC), 5))

        async def applied_all() -> bool:
            applied, total = await internal_progress(env, app_id)
            return total > before and applied >= total

        await eventually(applied_all, worker=worker, what="the late update consumed")
        assert first not in await _everything(env)
    finally:
        worker.stop()


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)
