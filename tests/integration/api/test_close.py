"""POST /v1/sessions/{id}/close: a CloseSession command on the session's partition."""

from __future__ import annotations

import uuid

import pytest

from schemas.commands import CloseSession, SessionCommand
from tests.integration.api.support import (
    RunningApi,
    StackSlice,
    api_settings,
    customer_hash,
    read_topic,
    running_api,
    topic_size,
)

pytestmark = pytest.mark.integration


async def test_close_produces_a_close_command_keyed_by_the_session(
    api: RunningApi, env: StackSlice
) -> None:
    psid = (await api.issue(customer_hash()))["persistentSessionId"]
    r = await api.client.post(f"/v1/sessions/{psid}/close",
                              headers={"X-Customer-Id-Hashed": customer_hash()})
    assert r.status_code == 202
    records = await read_topic(env.kafka_bootstrap, env.topic("chat.session-commands"), expect=2)
    [record] = [r for r in records if b"close_session" in r.value]  # after the session_issued
    assert record.key == psid.encode()
    command = SessionCommand.model_validate_json(record.value)
    assert str(command.persistent_session_id) == psid
    assert isinstance(command.command, CloseSession)
    assert str(command.id) == r.json()["commandId"]


async def test_close_by_another_customer_is_404_and_produces_nothing(
    api: RunningApi, env: StackSlice
) -> None:
    psid = (await api.issue(customer_hash("customer-1")))["persistentSessionId"]
    r = await api.client.post(f"/v1/sessions/{psid}/close",
                              headers={"X-Customer-Id-Hashed": customer_hash("customer-2")})
    assert r.status_code == 404
    # only the issue's session_issued
    assert await topic_size(env.kafka_bootstrap, env.topic("chat.session-commands")) == 1


async def test_close_of_an_unknown_session_is_404(api: RunningApi) -> None:
    r = await api.client.post(f"/v1/sessions/{uuid.uuid4()}/close",
                              headers={"X-Customer-Id-Hashed": customer_hash()})
    assert r.status_code == 404


async def test_close_with_kafka_unreachable_is_503(env: StackSlice) -> None:
    async with running_api(api_settings(env.settings()), kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        psid = (await api.issue(customer_hash()))["persistentSessionId"]
    async with running_api(api_settings(env.settings(), api_produce_timeout_s=1.0),
                           kafka_bootstrap="127.0.0.1:1", database_url=env.database_url) as api:
        r = await api.client.post(f"/v1/sessions/{psid}/close",
                                  params={"customerIdHashed": customer_hash()})
    assert r.status_code == 503
    assert "retry-after" in r.headers
