"""The whole product as its users drive it: the web back end issues a session, a Genesys data
action posts a snapshot (with PII typed by the customer), the worker applies it, the back end
asks "where were we?" and gets it — redacted — and on-call was told about the PII."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from schemas.alerts import Alert, AlertType
from tests.conftest import StackSlice
from tests.e2e.api.conftest import ServedApi
from tests.integration.worker.harness import Worker, eventually, read_topic

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_an_accepted_snapshot_reaches_the_database_and_is_the_resumption_context(
    served_api: ServedApi, env: StackSlice, tmp_path: Path
) -> None:
    customer = hashlib.sha256(b"customer-e2e-flow").hexdigest()
    conversation = uuid.uuid4()
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}").start()
    try:
        async with httpx.AsyncClient(base_url=served_api.base_url) as http:
            auth = served_api.auth()  # sessions and snapshots
            issued = await http.post("/v1/sessions", json={"customerIdHashed": customer},
                                     headers=auth)
            assert issued.status_code == 201
            psid = issued.json()["persistentSessionId"]

            persisted = await http.post(
                "/v1/chat-state/persist",
                headers=auth,
                json={
                    "persistentSessionId": psid,
                    "conversationId": str(conversation),
                    "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "stateSnapshot": {
                        "intent": "billing_dispute",
                        "stepsCompleted": "3",
                        "lastAgentMessage": "Please confirm: jane.synthetic@example.com",
                    },
                    "customProperties": {"customerIdHashed": customer},
                },
            )
            assert persisted.status_code == 202, persisted.text

            async def context() -> dict[str, object] | None:
                r = await http.get(
                    f"/v1/sessions/{psid}/context",
                    headers={"X-Customer-Id-Hashed": customer, **auth}
                )
                body = r.json()
                return body if r.status_code == 200 and body.get("latestSnapshot") else None

            ctx = await eventually(context, what="the snapshot in /context", worker=worker)
        assert ctx["conversationId"] == str(conversation)
        assert ctx["status"] == "active"
        snap = ctx["latestSnapshot"]
        assert isinstance(snap, dict)
        assert snap["intent"] == "billing_dispute"
        assert snap["stepsCompleted"] == 3
        assert "jane.synthetic" not in str(snap), "stored redacted"

        async def pii_alert() -> list[Alert]:
            alerts = [
                Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")
            ]
            return [a for a in alerts if a.type is AlertType.PII_DETECTED]

        [alert] = await eventually(pii_alert, what="a pii_detected alert", worker=worker)
        assert str(alert.persistent_session_id) == psid
        assert alert.details["findings"] == [
            {"path": "$.stateSnapshot.lastAgentMessage", "kind": "email"}
        ]
    finally:
        worker.stop()
