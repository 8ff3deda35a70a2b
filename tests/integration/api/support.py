"""Helpers for the API tests: synthetic customers and clients, a running app, reading what
reached a topic.

Customer ids are synthetic (``customer-1``...) and only ever appear hashed, as in production.
Three synthetic clients are configured: the web back end (``sessions``), a data action
(``snapshots``) and one with both, whose token ``running_api``'s client sends by default, so a
test about something else is authenticated without saying so; ``RunningApi.anonymous`` sends no
token.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from argon2 import PasswordHasher
from fastapi import FastAPI
from pydantic import SecretStr

from processor.api import create_app
from processor.api.deps import ApiState
from processor.api.ops import create_ops_app
from processor.settings import Settings


class StackSlice(Protocol):
    """What the ``env`` fixture of tests/conftest.py gives: this test's private database and
    topics. A Protocol, so these tests do not depend on that fixture's class name."""

    @property
    def kafka_bootstrap(self) -> str: ...
    @property
    def database_url(self) -> str: ...
    @property
    def topic_prefix(self) -> str: ...
    def settings(self, **overrides: object) -> Settings: ...
    def topic(self, logical: str) -> str: ...


# test-only credentials
CLIENT_ID = "test-both-scopes"  # sessions + snapshots: what api.client authenticates as
CLIENT_SECRET = "synthetic-client-secret-1"
BACKEND_ID = "web-backend"  # sessions only
BACKEND_SECRET = "synthetic-backend-secret"
ACTION_ID = "genesys-data-action"  # snapshots only
ACTION_SECRET = "synthetic-action-secret"
ERASER_ID = "privacy-desk"  # erasure only
ERASER_SECRET = "synthetic-eraser-secret"
SIGNING_KEY = "synthetic-signing-key-for-tests-only-0123456789"
ISSUER, AUDIENCE = "chatstate", "chatstate-api"  # the settings' defaults
CREDENTIALS = {CLIENT_ID: (CLIENT_SECRET, ["sessions", "snapshots"]),
               BACKEND_ID: (BACKEND_SECRET, ["sessions"]),
               ACTION_ID: (ACTION_SECRET, ["snapshots"]),
               ERASER_ID: (ERASER_SECRET, ["erasure"])}


def customer_hash(name: str = "customer-1") -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@functools.cache
def clients_config() -> dict[str, dict[str, Any]]:
    """CHATSTATE_OAUTH_CLIENTS for the synthetic clients. Hashed once per test process, at the
    cheapest parameters the API accepts (OWASP's floor: m=19 MiB, t=2, p=1), since Argon2 is
    slow by design and tests fetch many tokens; ``hash_secret``'s own are checked by unit
    tests."""
    hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    return {cid: {"secret_hash": hasher.hash(secret), "scopes": scopes}
            for cid, (secret, scopes) in CREDENTIALS.items()}


def clients_env() -> str:
    return json.dumps(clients_config())


def api_settings(base: Settings, **overrides: Any) -> Settings:
    return base.model_copy(update={
        "oauth_clients": clients_config(),
        "token_signing_key": SecretStr(SIGNING_KEY),
        **overrides,
    })


def token_form(client_id: str = CLIENT_ID) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": CREDENTIALS[client_id][0]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class RunningApi:
    app: FastAPI
    client: httpx.AsyncClient  # sends CLIENT_ID's token (both scopes) unless told otherwise
    anonymous: httpx.AsyncClient  # sends no token
    ops: httpx.AsyncClient  # the ops port's app (/metrics, /docs, /openapi.json) beside it

    async def token(self, client_id: str = CLIENT_ID) -> str:
        r = await self.anonymous.post("/oauth/token", data=token_form(client_id))
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def issue(self, customer: str) -> dict[str, Any]:
        r = await self.client.post("/v1/sessions", json={"customerIdHashed": customer})
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body


@asynccontextmanager
async def running_api(
    settings: Settings, *, kafka_bootstrap: str, database_url: str
) -> AsyncIterator[RunningApi]:
    """The app with its lifespan run (as uvicorn would), driven in-process through ASGI."""
    app = create_app(settings, kafka_bootstrap=kafka_bootstrap, database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        ops_app = create_ops_app(state_of_app(app).metrics.render, app.openapi)
        ops_transport = httpx.ASGITransport(app=ops_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as anonymous, \
                httpx.AsyncClient(transport=transport, base_url="http://api") as client, \
                httpx.AsyncClient(transport=ops_transport, base_url="http://ops") as ops:
            running = RunningApi(app, client, anonymous, ops)
            if settings.oauth_clients.get(CLIENT_ID):
                client.headers.update(bearer(await running.token()))
            yield running


def state_of_app(app: FastAPI) -> ApiState:
    state: ApiState = app.state.chatstate
    return state


def snapshot_body(psid: str, **state: Any) -> dict[str, Any]:
    return {
        "persistentSessionId": psid,
        "conversationId": str(uuid.uuid4()),
        "timestamp": datetime(2025, 3, 1, 12, 0, tzinfo=UTC).isoformat(),
        "stateSnapshot": {"intent": "billing", "stepsCompleted": 3,
                          "lastAgentMessage": "Thanks, one moment", **state},
    }


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout_s: float = 15.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the beginning, once ``expect`` arrived (or the timeout)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic)
                                                     or await _partitions(consumer, topic))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many records the topic holds (end offsets): 0 means nothing was ever acknowledged."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
        ends = await consumer.end_offsets(parts)
        return sum(ends.values())
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return set(parts)
        await asyncio.sleep(0.1)
    raise AssertionError(f"topic {topic} has no partitions")
