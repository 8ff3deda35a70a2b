"""POST /v1/erasures and GET /v1/erasures/{id} (issue 17, item 3), the API's half: the audit row,
the deny list and one command per session on its partition. The worker's half (rows deleted,
tombstones) is tests/e2e/flow/test_erasure.py."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from processor.core.removal import customer_digest
from schemas.commands import EraseSession, SessionCommand
from tests.integration.api.support import (
    BACKEND_ID,
    ERASER_ID,
    RunningApi,
    StackSlice,
    bearer,
    customer_hash,
    read_topic,
)

pytestmark = pytest.mark.integration


async def _eraser(api: RunningApi) -> dict[str, str]:
    return bearer(await api.token(ERASER_ID))


async def test_an_erasure_is_accepted_with_an_id_and_sends_one_command_per_session(
    api: RunningApi, env: StackSlice, db: asyncpg.Connection
) -> None:
    customer = customer_hash("erase-me")
    old = (await api.issue(customer))["persistentSessionId"]
    await db.execute("UPDATE sessions SET status='expired', expires_at=now()"
                     " WHERE persistent_session_id=$1", uuid.UUID(old))
    new = (await api.issue(customer))["persistentSessionId"]
    r = await api.anonymous.post("/v1/erasures", json={"customerIdHashed": customer},
                                 headers=await _eraser(api))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "pending"
    assert body["sessions"] == 2
    erasure_id = body["erasureId"]

    records = await read_topic(env.kafka_bootstrap, env.topic("chat.session-commands"), expect=4)
    erasing = {r.key.decode(): SessionCommand.model_validate_json(r.value) for r in records
               if b"erase_session" in r.value}
    assert set(erasing) == {old, new}
    for psid, c in erasing.items():
        assert str(c.persistent_session_id) == psid
        assert isinstance(c.command, EraseSession)
        assert str(c.command.erasure_id) == erasure_id

    status = await api.anonymous.get(f"/v1/erasures/{erasure_id}", headers=await _eraser(api))
    assert status.status_code == 200
    got = status.json()
    assert got["status"] == "pending"
    assert got["requestedBy"] == ERASER_ID
    assert got["sessions"] == 2
    assert got["sessionsErased"] == 0
    row = await db.fetchrow("SELECT * FROM erasures WHERE erasure_id = $1", uuid.UUID(erasure_id))
    assert customer not in str(dict(row))  # the audit row holds no customer data
    assert await db.fetchval("SELECT kind FROM erased_ids WHERE digest = $1",
                             customer_digest(customer)) == "customer"


async def test_a_customer_with_nothing_left_is_completed_at_once(api: RunningApi) -> None:
    r = await api.anonymous.post("/v1/erasures", json={"customerIdHashed": customer_hash("x")},
                                 headers=await _eraser(api))
    assert r.status_code == 202
    assert r.json()["status"] == "completed"
    assert r.json()["sessions"] == 0
    got = await api.anonymous.get(f"/v1/erasures/{r.json()['erasureId']}",
                                  headers=await _eraser(api))
    assert got.json()["completedAt"] is not None


async def test_erasure_needs_its_own_scope_and_a_hash(api: RunningApi) -> None:
    body = {"customerIdHashed": customer_hash()}
    assert (await api.anonymous.post("/v1/erasures", json=body)).status_code == 401
    backend = bearer(await api.token(BACKEND_ID))
    assert (await api.anonymous.post("/v1/erasures", json=body,
                                     headers=backend)).status_code == 403
    r = await api.anonymous.post("/v1/erasures", json={"customerIdHashed": "alice@example.com"},
                                 headers=await _eraser(api))
    assert r.status_code == 422
    assert "alice" not in r.text
    unknown = await api.anonymous.get(f"/v1/erasures/{uuid.uuid4()}", headers=await _eraser(api))
    assert unknown.status_code == 404
