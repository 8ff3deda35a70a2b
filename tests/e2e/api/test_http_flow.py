"""The whole flow as the README shows it, against ``chatstate api`` in its own process:
token -> issue -> persist -> context, and the CLI's OpenAPI output is the committed document."""

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
from tests.e2e.api.conftest import ServedApi
from tests.integration.api.support import read_topic

pytestmark = pytest.mark.e2e


async def test_token_issue_persist_and_context_work_end_to_end(served_api: ServedApi) -> None:
    customer = hashlib.sha256(b"customer-e2e").hexdigest()
    async with httpx.AsyncClient(base_url=served_api.base_url) as http:
        issued = await http.post("/v1/sessions", json={"customerIdHashed": customer})
        assert issued.status_code == 201
        psid = issued.json()["persistentSessionId"]
        token = served_api.token()
        persisted = await http.post(
            "/v1/chat-state/persist", headers={"Authorization": f"Bearer {token}"},
            json={"persistentSessionId": psid, "conversationId": str(uuid.uuid4()),
                  "timestamp": "2025-03-01T12:00:00.000Z",
                  "stateSnapshot": {"intent": "billing", "stepsCompleted": 3,
                                    "lastAgentMessage": "One moment"}})
        assert persisted.status_code == 202
        context = await http.get(f"/v1/sessions/{psid}/context",
                                 headers={"X-Customer-Id-Hashed": customer})
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
