"""/healthz, /readyz, /metrics, /openapi.json and the access log."""

from __future__ import annotations

import logging
import uuid

import pytest

from processor.logs import configure_logging
from tests.integration.api.support import (
    RunningApi,
    StackSlice,
    api_settings,
    customer_hash,
    running_api,
    snapshot_body,
)

pytestmark = pytest.mark.integration


async def test_healthz_answers_ok(api: RunningApi) -> None:
    r = await api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_is_200_when_kafka_and_postgres_answer(api: RunningApi) -> None:
    r = await api.client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"kafka": "ok", "postgres": "ok"}


async def test_readyz_is_503_when_kafka_is_unreachable_while_healthz_stays_200(
    env: StackSlice,
) -> None:
    async with running_api(api_settings(env.settings(), api_produce_timeout_s=1.0),
                           kafka_bootstrap="127.0.0.1:1", database_url=env.database_url) as api:
        ready = await api.client.get("/readyz")
        health = await api.client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"kafka": "unreachable", "postgres": "ok"}
    assert health.status_code == 200


async def test_metrics_count_requests_by_route_template_and_produce_errors(
    env: StackSlice,
) -> None:
    async with running_api(api_settings(env.settings(), api_produce_timeout_s=1.0),
                           kafka_bootstrap="127.0.0.1:1", database_url=env.database_url) as api:
        await api.client.get(f"/v1/sessions/{uuid.uuid4()}/context",
                             headers={"X-Customer-Id-Hashed": customer_hash()})
        await api.client.post("/v1/chat-state/persist", json=snapshot_body(str(uuid.uuid4())),
                              headers={"Authorization": f"Bearer {await api.token()}"})
        text = (await api.client.get("/metrics")).text
    assert ('chatstate_api_requests_total{method="GET",'
            'route="/v1/sessions/{persistentSessionId}/context",status="404"} 1.0') in text
    assert 'chatstate_api_produce_errors_total{route="/v1/chat-state/persist"} 1.0' in text
    assert "chatstate_api_request_duration_seconds_bucket" in text


async def test_the_served_openapi_document_lists_every_operation(api: RunningApi) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    assert set(paths) >= {"/oauth/token", "/v1/sessions", "/v1/sessions/{persistentSessionId}/"
                          "context", "/v1/sessions/{persistentSessionId}/close",
                          "/v1/chat-state/persist", "/healthz", "/readyz", "/metrics"}


async def test_access_logs_carry_route_templates_and_no_tokens_customers_or_pii(
    api: RunningApi, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("INFO", "json")  # as `chatstate api` does: structlog through stdlib
    token = await api.token()
    psid = (await api.issue(customer_hash()))["persistentSessionId"]
    email = "someone@example.com"
    with caplog.at_level(logging.INFO):
        await api.client.post(
            "/v1/chat-state/persist", headers={"Authorization": f"Bearer {token}"},
            json=snapshot_body(psid, lastAgentMessage=f"mail {email}"))
        await api.client.get(f"/v1/sessions/{psid}/context",
                             params={"customerIdHashed": customer_hash()})
    ours = [r for r in caplog.records if r.name.startswith("chatstate")]  # not the test's client
    written = "\n".join(str(r.msg) for r in ours)
    assert "'route': '/v1/sessions/{persistentSessionId}/context'" in written
    for secret in (token, token.split(".")[2], customer_hash(), email):
        assert secret not in written
