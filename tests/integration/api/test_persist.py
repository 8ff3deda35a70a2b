"""POST /v1/chat-state/persist: validated, PII-guarded, 202 only once Kafka acknowledged."""

from __future__ import annotations

import json
import uuid

import pytest

from processor.api.ingest import HEADER_CONTENT_ID, HEADER_PII
from schemas.snapshot import SnapshotIn
from tests.integration.api.support import (
    RunningApi,
    StackSlice,
    api_settings,
    read_topic,
    running_api,
    snapshot_body,
    topic_size,
)

pytestmark = pytest.mark.integration

PERSIST = "/v1/chat-state/persist"
# Synthetic PII: a reserved-domain e-mail and the Visa test card number.
EMAIL = "someone@example.com"
TEST_CARD = "4111111111111111"


async def _post(api: RunningApi, body: object, **kw: object) -> tuple[int, dict[str, object]]:
    token = await api.token()
    r = await api.client.post(PERSIST, json=body, headers={"Authorization": f"Bearer {token}"},
                              **kw)  # type: ignore[arg-type]
    return r.status_code, r.json()


async def test_an_accepted_snapshot_is_in_the_topic_keyed_by_its_session(
    api: RunningApi, env: StackSlice
) -> None:
    psid = str(uuid.uuid4())
    body = snapshot_body(psid, customField="kept as sent")
    status, answer = await _post(api, body)
    assert status == 202
    assert answer["accepted"] is True
    assert answer["piiRedacted"] == []
    [record] = await read_topic(env.kafka_bootstrap, env.topic("chat.snapshots"), expect=1)
    assert record.key == psid.encode()
    produced = SnapshotIn.model_validate_json(record.value)
    assert produced == SnapshotIn.model_validate(body)
    assert json.loads(record.value)["stateSnapshot"]["customField"] == "kept as sent"
    assert dict(record.headers)[HEADER_CONTENT_ID] == str(answer["contentId"]).encode()


async def test_pii_in_free_text_is_redacted_before_it_is_produced(
    api: RunningApi, env: StackSlice
) -> None:
    body = snapshot_body(str(uuid.uuid4()), lastAgentMessage=f"We will write to {EMAIL}")
    status, answer = await _post(api, body)
    assert status == 202
    assert answer["piiRedacted"] == ["$.stateSnapshot.lastAgentMessage"]
    [record] = await read_topic(env.kafka_bootstrap, env.topic("chat.snapshots"), expect=1)
    assert EMAIL.encode() not in record.value
    assert b"[REDACTED:email]" in record.value
    findings = json.loads(dict(record.headers)[HEADER_PII])
    assert findings == [{"path": "$.stateSnapshot.lastAgentMessage", "kind": "email"}]


async def test_a_card_number_where_a_token_belongs_is_422_and_nothing_is_produced(
    api: RunningApi, env: StackSlice
) -> None:
    body = {**snapshot_body(str(uuid.uuid4())), "customProperties": {"cardToken": TEST_CARD}}
    status, answer = await _post(api, body)
    assert status == 422
    assert answer["error"] == "pii_rejected"
    assert answer["detail"] == [{"loc": "$.customProperties.cardToken",
                                 "msg": "card_number found; send a token instead",
                                 "type": "card_number"}]
    assert TEST_CARD not in json.dumps(answer)
    assert await topic_size(env.kafka_bootstrap, env.topic("chat.snapshots")) == 0


async def test_an_invalid_body_is_422_naming_the_fields_but_not_their_values(
    api: RunningApi, env: StackSlice
) -> None:
    body = snapshot_body("not-a-session-id-4111", stepsCompleted="many-steps-secret")
    status, answer = await _post(api, body)
    assert status == 422
    assert answer["error"] == "invalid_request"
    locs = {d["loc"] for d in answer["detail"]}  # type: ignore[attr-defined]
    assert locs == {"body.persistentSessionId", "body.stateSnapshot.stepsCompleted"}
    assert "not-a-session-id-4111" not in json.dumps(answer)
    assert "many-steps-secret" not in json.dumps(answer)
    assert await topic_size(env.kafka_bootstrap, env.topic("chat.snapshots")) == 0


async def test_a_body_that_is_not_json_is_422(api: RunningApi) -> None:
    token = await api.token()
    r = await api.client.post(PERSIST, content=b"{not json", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status_code == 422


async def test_a_body_over_the_limit_is_413(api: RunningApi, env: StackSlice) -> None:
    body = snapshot_body(str(uuid.uuid4()), lastAgentMessage="x" * 70_000)
    status, answer = await _post(api, body)
    assert status == 413
    assert answer["error"] == "payload_too_large"
    assert await topic_size(env.kafka_bootstrap, env.topic("chat.snapshots")) == 0


async def test_a_retried_post_gets_the_same_content_id(api: RunningApi) -> None:
    body = snapshot_body(str(uuid.uuid4()))
    _, first = await _post(api, body)
    _, again = await _post(api, body)
    assert first["contentId"] == again["contentId"]  # the processor dedupes on it


async def test_kafka_unreachable_is_503_with_retry_after_and_nothing_acknowledged(
    env: StackSlice,
) -> None:
    settings = api_settings(env.settings(), api_produce_timeout_s=1.0)
    async with running_api(settings, kafka_bootstrap="127.0.0.1:1",
                           database_url=env.database_url) as api:
        status, answer = await _post(api, snapshot_body(str(uuid.uuid4())))
        r = await api.client.post(PERSIST, json=snapshot_body(str(uuid.uuid4())),
                                  headers={"Authorization": f"Bearer {await api.token()}"})
    assert status == 503
    assert answer["error"] == "unavailable"
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert await topic_size(env.kafka_bootstrap, env.topic("chat.snapshots")) == 0
