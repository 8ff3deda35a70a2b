"""/healthz and /readyz on the public port; /metrics, /docs and /openapi.json on the ops port
only; the access log."""

from __future__ import annotations

import json
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
        text = (await api.ops.get("/metrics")).text
    assert ('chatstate_api_requests_total{method="GET",'
            'route="/v1/sessions/{persistentSessionId}/context",status="404"} 1.0') in text
    assert 'chatstate_api_produce_errors_total{route="/v1/chat-state/persist"} 1.0' in text
    assert "chatstate_api_request_duration_seconds_bucket" in text


async def test_the_ops_port_serves_the_document_listing_every_operation_and_its_ui(
    api: RunningApi,
) -> None:
    paths = (await api.ops.get("/openapi.json")).json()["paths"]
    assert set(paths) >= {"/oauth/token", "/v1/sessions", "/v1/sessions/{persistentSessionId}/"
                          "context", "/v1/sessions/{persistentSessionId}/close",
                          "/v1/chat-state/persist", "/healthz", "/readyz"}
    docs = await api.ops.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json", "/redoc"])
async def test_ops_endpoints_are_not_served_on_the_public_port(api: RunningApi,
                                                               path: str) -> None:
    r = await api.client.get(path)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


async def test_access_logs_carry_route_templates_and_no_tokens_customers_or_pii(
    api: RunningApi, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")  # as `chatstate api` does
    token = await api.token()
    psid = (await api.issue(customer_hash()))["persistentSessionId"]
    email = "someone@example.com"
    capsys.readouterr()
    await api.client.post(
        "/v1/chat-state/persist", headers={"Authorization": f"Bearer {token}"},
        json=snapshot_body(psid, lastAgentMessage=f"mail {email}"))
    await api.client.get(f"/v1/sessions/{psid}/context",
                         params={"customerIdHashed": customer_hash()})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ours = [line for line in lines if line["logger"].startswith("chatstate")]  # not httpx's
    written = "\n".join(json.dumps(line) for line in ours)
    access = [line for line in ours if line["logger"] == "chatstate.api.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("POST", "/v1/chat-state/persist", 202),
        ("GET", "/v1/sessions/{persistentSessionId}/context", 200),
    ]
    for secret in (token, token.split(".")[2], customer_hash(), email):
        assert secret not in written
