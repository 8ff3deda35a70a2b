"""Helpers for the API tests: synthetic customers, a running app, reading what reached a topic.

Customer ids are synthetic (``customer-1``...) and only ever appear hashed, as in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from fastapi import FastAPI
from pydantic import SecretStr

from processor.api import create_app
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


CLIENT_ID = "genesys-data-action"
CLIENT_SECRET = "synthetic-client-secret-1"  # test-only credential
SIGNING_KEY = "synthetic-signing-key-for-tests-only"


def customer_hash(name: str = "customer-1") -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def api_settings(base: Settings, **overrides: Any) -> Settings:
    return base.model_copy(update={
        "oauth_clients": {CLIENT_ID: hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()},
        "token_signing_key": SecretStr(SIGNING_KEY),
        **overrides,
    })


@dataclass
class RunningApi:
    app: FastAPI
    client: httpx.AsyncClient

    async def token(self) -> str:
        r = await self.client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET})
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
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield RunningApi(app, client)


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
