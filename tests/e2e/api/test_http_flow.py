"""The whole flow as the README shows it, against ``chatstate api`` in its own process: the web
back end's token -> issue, the data action's token -> persist, back end -> context; the CLI's
OpenAPI output is the committed document; no signing key, no API."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from processor.settings import project_root
from tests.e2e.api.conftest import ServedApi, api_process, api_process_env, free_port
from tests.integration.api.support import (
    ACTION_ID,
    BACKEND_ID,
    StackSlice,
    read_topic,
)

pytestmark = pytest.mark.e2e


async def test_token_issue_persist_and_context_work_end_to_end(served_api: ServedApi) -> None:
    customer = hashlib.sha256(b"customer-e2e").hexdigest()
    backend = served_api.auth(BACKEND_ID)  # the web back end: scope sessions
    action = served_api.auth(ACTION_ID)  # the Genesys data action: scope snapshots
    async with httpx.AsyncClient(base_url=served_api.base_url) as http:
        issued = await http.post("/v1/sessions", json={"customerIdHashed": customer},
                                 headers=backend)
        assert issued.status_code == 201
        psid = issued.json()["persistentSessionId"]
        persisted = await http.post(
            "/v1/chat-state/persist", headers=action,
            json={"persistentSessionId": psid, "conversationId": str(uuid.uuid4()),
                  "timestamp": "2025-03-01T12:00:00.000Z",
                  "stateSnapshot": {"intent": "billing", "stepsCompleted": 3,
                                    "lastAgentMessage": "One moment"}})
        assert persisted.status_code == 202
        context = await http.get(f"/v1/sessions/{psid}/context",
                                 headers={"X-Customer-Id-Hashed": customer, **backend})
    assert context.status_code == 200
    assert context.json()["persistentSessionId"] == psid
    env = served_api.env
    [record] = await read_topic(env.kafka_bootstrap, env.topic("chat.snapshots"), expect=1)
    assert record.key == psid.encode()


def test_the_cli_prints_the_committed_openapi_document() -> None:
    out = subprocess.run([str(Path(sys.executable).parent / "chatstate"), "api", "openapi"],
                         capture_output=True, check=True, text=True).stdout
    committed = (project_root() / "docs" / "openapi.json").read_text()
    assert json.loads(out) == json.loads(committed)


def test_every_v1_route_is_401_without_a_token_and_metrics_are_on_the_ops_port_only(
    served_api: ServedApi,
) -> None:
    psid = uuid.uuid4()
    customer = {"X-Customer-Id-Hashed": customer_id_of("c")}
    base = served_api.base_url
    answers = [
        httpx.post(f"{base}/v1/sessions", json={"customerIdHashed": customer_id_of("c")}),
        httpx.get(f"{base}/v1/sessions/{psid}/context", headers=customer),
        httpx.post(f"{base}/v1/sessions/{psid}/close", headers=customer),
        httpx.post(f"{base}/v1/chat-state/persist", json={}),
    ]
    assert [a.status_code for a in answers] == [401] * 4
    assert all(a.headers["www-authenticate"].startswith("Bearer") for a in answers)
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert httpx.get(f"{base}{path}").status_code == 404, path
        assert httpx.get(f"{served_api.ops_url}{path}").status_code == 200, path
    assert "chatstate_api_requests_total" in httpx.get(f"{served_api.ops_url}/metrics").text


def customer_id_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@pytest.mark.parametrize("key", [None, "too-short"])
def test_the_api_does_not_start_without_a_signing_key_of_32_bytes(
    env: StackSlice, key: str | None
) -> None:
    process_env = api_process_env(env)
    del process_env["CHATSTATE_TOKEN_SIGNING_KEY"]
    if key is not None:
        process_env["CHATSTATE_TOKEN_SIGNING_KEY"] = key
    done = subprocess.run([str(Path(sys.executable).parent / "chatstate"), "api", "--port", "0"],
                          env=process_env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "CHATSTATE_TOKEN_SIGNING_KEY" in done.stderr
    if key is not None:
        assert key not in done.stderr + done.stdout


def test_the_api_does_not_start_with_an_old_style_client(env: StackSlice) -> None:
    process_env = api_process_env(env)
    process_env["CHATSTATE_OAUTH_CLIENTS"] = json.dumps(
        {"old-client": hashlib.sha256(b"old-secret").hexdigest()})
    done = subprocess.run([str(Path(sys.executable).parent / "chatstate"), "api", "--port", "0"],
                          env=process_env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "CHATSTATE_OAUTH_CLIENTS" in done.stderr
    assert "'old-client'" in done.stderr
    assert hashlib.sha256(b"old-secret").hexdigest() not in done.stderr + done.stdout


def test_hash_secret_reads_the_secret_from_stdin_and_prints_an_argon2id_hash() -> None:
    from argon2 import PasswordHasher

    done = subprocess.run([str(Path(sys.executable).parent / "chatstate"), "clients",
                           "hash-secret"], input="synthetic-cli-secret\n", capture_output=True,
                          text=True, timeout=60, check=True)
    printed = done.stdout.strip()
    assert printed.startswith("$argon2id$")
    assert PasswordHasher().verify(printed, "synthetic-cli-secret")
    assert "synthetic-cli-secret" not in done.stdout + done.stderr


def test_a_single_process_api_counts_its_requests_on_the_ops_port(
    env: StackSlice, tmp_path: Path
) -> None:
    ops_port = free_port()
    with api_process(env, tmp_path / "api.log", ops_port=ops_port,
                     args=("--workers", "1")) as (_, base):
        for _ in range(3):
            assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/metrics").status_code == 404
        text = httpx.get(f"http://127.0.0.1:{ops_port}/metrics").text
    assert 'chatstate_api_requests_total{method="GET",route="/healthz",status="200"} 3.0' in text
