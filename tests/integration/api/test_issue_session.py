"""POST /v1/sessions: server-issued ids, one live session per customer, renewal after expiry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.integration.api.support import (
    RunningApi,
    StackSlice,
    api_settings,
    customer_hash,
    running_api,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def tabs_api(env: StackSlice) -> AsyncIterator[RunningApi]:
    """An API that lets one customer ask 100 times at once (the default per-customer burst, 20,
    would answer most of fifty tabs 429: tested in test_auth.py)."""
    settings = api_settings(env.settings(), api_issue_burst_per_customer=100)
    async with running_api(settings, kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as running:
        yield running


async def test_a_new_customer_gets_a_new_idle_session_in_both_tables(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    before = datetime.now(UTC)
    r = await api.client.post("/v1/sessions", json={"customerIdHashed": customer_hash()})
    assert r.status_code == 201
    body = r.json()
    psid = uuid.UUID(body["persistentSessionId"])
    assert psid.version == 4
    assert body["status"] == "idle"
    assert body["created"] is True
    assert body["previousSessionId"] is None
    issued = await db.fetchrow("SELECT * FROM issued_sessions WHERE persistent_session_id=$1", psid)
    session = await db.fetchrow("SELECT * FROM sessions WHERE persistent_session_id=$1", psid)
    assert issued["customer_id_hashed"] == customer_hash()
    assert issued["superseded_at"] is None
    assert session["status"] == "idle"
    assert session["version"] == 0
    assert session["customer_id_hashed"] == customer_hash()
    ttl = session["expires_at"] - session["created_at"]
    assert ttl == timedelta(hours=72)
    assert session["created_at"] >= before - timedelta(seconds=1)


async def test_the_same_customer_gets_the_same_live_session_with_200(api: RunningApi) -> None:
    first = await api.client.post("/v1/sessions", json={"customerIdHashed": customer_hash()})
    again = await api.client.post("/v1/sessions", json={"customerIdHashed": customer_hash()})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["persistentSessionId"] == first.json()["persistentSessionId"]
    assert again.json()["created"] is False


async def test_different_customers_get_different_sessions(api: RunningApi) -> None:
    a = await api.issue(customer_hash("customer-1"))
    b = await api.issue(customer_hash("customer-2"))
    assert a["persistentSessionId"] != b["persistentSessionId"]


@pytest.mark.parametrize("bad", [
    "customer-1",                       # raw id, not hashed
    customer_hash().upper(),            # upper-case hex
    customer_hash()[:63],               # too short
    customer_hash() + "0",              # too long
    "g" * 64,                           # not hex
    1234,                               # not a string
])
async def test_a_customer_id_that_is_not_sha256_hex_is_422_without_echoing_it(
    api: RunningApi, bad: object
) -> None:
    r = await api.client.post("/v1/sessions", json={"customerIdHashed": bad})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid_request"
    assert body["detail"][0]["loc"] == "body.customerIdHashed"
    assert "SHA-256 hex digest" in body["detail"][0]["msg"]
    assert str(bad) not in r.text


async def test_a_missing_body_is_422(api: RunningApi) -> None:
    r = await api.client.post("/v1/sessions", json={})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == "body.customerIdHashed"


async def test_fifty_tabs_at_once_get_exactly_one_session(
    tabs_api: RunningApi, db: asyncpg.Connection
) -> None:
    """The two-tab race, fifty-fold: the partial unique index decides, not timing."""
    customer = customer_hash("customer-race")

    async def tab() -> httpx.Response:
        return await tabs_api.client.post("/v1/sessions", json={"customerIdHashed": customer})

    answers = await asyncio.gather(*(tab() for _ in range(50)))
    ids = {a.json()["persistentSessionId"] for a in answers}
    assert len(ids) == 1
    assert sorted(a.status_code for a in answers) == [200] * 49 + [201]
    assert await db.fetchval("SELECT count(*) FROM issued_sessions") == 1
    assert await db.fetchval("SELECT count(*) FROM sessions") == 1


@pytest.mark.parametrize("ended", ["expired", "archived", "closed"])
async def test_a_customer_whose_session_ended_gets_a_new_one_pointing_to_it(
    api: RunningApi, db: asyncpg.Connection, ended: str
) -> None:
    old = await api.issue(customer_hash())
    old_id = uuid.UUID(old["persistentSessionId"])
    await db.execute("UPDATE sessions SET status=$2 WHERE persistent_session_id=$1", old_id, ended)
    r = await api.client.post("/v1/sessions", json={"customerIdHashed": customer_hash()})
    assert r.status_code == 201
    new = r.json()
    assert new["persistentSessionId"] != old["persistentSessionId"]
    assert new["previousSessionId"] == old["persistentSessionId"]
    superseded = await db.fetchval(
        "SELECT superseded_at FROM issued_sessions WHERE persistent_session_id=$1", old_id)
    assert superseded is not None
    previous = await db.fetchval(
        "SELECT previous_session_id FROM sessions WHERE persistent_session_id=$1",
        uuid.UUID(new["persistentSessionId"]))
    assert previous == old_id


async def test_a_session_past_its_expiry_time_is_replaced_even_before_the_timer_ran(
    api: RunningApi, db: asyncpg.Connection
) -> None:
    old = await api.issue(customer_hash())
    await db.execute("UPDATE sessions SET expires_at = now() - interval '1 minute' "
                     "WHERE persistent_session_id=$1", uuid.UUID(old["persistentSessionId"]))
    new = await api.issue(customer_hash())
    assert new["created"] is True
    assert new["previousSessionId"] == old["persistentSessionId"]


async def test_fifty_tabs_renewing_an_expired_session_get_one_new_session(
    tabs_api: RunningApi, db: asyncpg.Connection
) -> None:
    api = tabs_api
    old = await api.issue(customer_hash())
    await db.execute("UPDATE sessions SET status='expired' WHERE persistent_session_id=$1",
                     uuid.UUID(old["persistentSessionId"]))
    answers = await asyncio.gather(*(api.client.post(
        "/v1/sessions", json={"customerIdHashed": customer_hash()}) for _ in range(50)))
    ids = {a.json()["persistentSessionId"] for a in answers}
    assert len(ids) == 1
    assert old["persistentSessionId"] not in ids
    assert await db.fetchval(
        "SELECT count(*) FROM issued_sessions WHERE superseded_at IS NULL") == 1
    assert await db.fetchval("SELECT count(*) FROM sessions") == 2
