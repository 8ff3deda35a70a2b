"""deploy/genesys/ (issue 17, item 7): the data action's request template renders, with sample
values, into a body the API accepts; its shape is Genesys's action format (the SDK's models as
the oracle); the snippets set the attribute names the normaliser reads."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from PureCloudPlatformClientV2.models.action_config import ActionConfig
from PureCloudPlatformClientV2.models.post_action_input import PostActionInput
from PureCloudPlatformClientV2.models.request_config import RequestConfig
from PureCloudPlatformClientV2.models.response_config import ResponseConfig

from processor.core.genesys_attributes import HASH_KEYS, PSID_KEYS, RESUMED_KEYS
from schemas.snapshot import SnapshotIn
from tests.unit.deploy.velocity import render, variables

GENESYS = Path(__file__).resolve().parents[3] / "deploy" / "genesys"
SAMPLE: dict[str, Any] = {
    "persistentSessionId": str(uuid.UUID("00000000-0000-4000-8000-00000000a001")),
    "conversationId": str(uuid.UUID("00000000-0000-4000-8000-0000000000c1")),
    "timestamp": "2026-11-24T09:00:00.000Z",
    "intent": "billing",
    "stepsCompleted": 3,
    "lastAgentMessage": 'He said "one moment"\nand left \\ for a bit',
    "customerIdHashed": "ab" * 32,
}


def _action(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GENESYS / name).read_text())
    return data


def test_the_persist_template_renders_into_a_body_the_api_accepts() -> None:
    action = _action("data-action-persist.json")
    template = action["config"]["request"]["requestTemplate"]
    body = json.loads(render(template, SAMPLE))  # escaping kept it JSON despite quotes, \n, \
    snapshot = SnapshotIn.model_validate(body)
    assert str(snapshot.persistent_session_id) == SAMPLE["persistentSessionId"]
    assert str(snapshot.conversation_id) == SAMPLE["conversationId"]
    assert snapshot.state_snapshot.model_dump(by_alias=True)["lastAgentMessage"] == (
        SAMPLE["lastAgentMessage"]
    )
    assert snapshot.customer_id_hashed == SAMPLE["customerIdHashed"]


def test_the_template_uses_only_declared_inputs_and_every_required_one() -> None:
    action = _action("data-action-persist.json")
    template = action["config"]["request"]["requestTemplate"]
    schema = action["contract"]["input"]["inputSchema"]
    used = variables(template)
    assert used <= set(schema["properties"])
    assert set(schema["required"]) <= used
    assert "$" not in render(template, SAMPLE), "a Velocity construct the test does not know"


def test_the_actions_have_genesys_action_shape() -> None:
    allowed = set(PostActionInput().attribute_map.values())
    for name in ("data-action-persist.json", "data-action-auth.json"):
        action = _action(name)
        assert set(action) <= allowed
        assert set(action["config"]) <= set(ActionConfig().attribute_map.values())
        assert set(action["config"]["request"]) <= set(RequestConfig().attribute_map.values())
        assert set(action["config"]["response"]) <= set(ResponseConfig().attribute_map.values())
        assert set(action["contract"]) == {"input", "output"}
        assert action["config"]["timeoutSeconds"] <= 5  # the seed: never block the flow long


def test_the_credentials_are_the_apis_oauth_client_with_the_snapshots_scope_only() -> None:
    auth = _action("data-action-auth.json")["config"]["request"]
    assert auth["requestUrlTemplate"].endswith("/oauth/token")
    assert auth["requestTemplate"] == "grant_type=client_credentials&scope=snapshots"
    assert "${credentials.clientId}" in auth["headers"]["Authorization"]
    persist = _action("data-action-persist.json")["config"]["request"]
    assert persist["requestUrlTemplate"].endswith("/v1/chat-state/persist")
    assert persist["headers"]["Authorization"] == "Bearer ${authResponse.token}"


_SET = re.compile(r'"([A-Za-z.]+)":\s*session\.\w+')
_SET_LATER = re.compile(r'\w+\["([A-Za-z.]+)"\]\s*=\s*session\.\w+')


def _attributes(snippet: str) -> set[str]:
    text = (GENESYS / snippet).read_text()
    return set(_SET.findall(text)) | set(_SET_LATER.findall(text))


def test_the_web_messaging_snippet_sets_the_attributes_the_normaliser_reads() -> None:
    names = _attributes("web-messaging.html")
    assert names == {"persistentSessionId", "customerIdHashed", "resumedFromConversationId"}
    read = {*PSID_KEYS, *HASH_KEYS, *RESUMED_KEYS}
    assert names <= read
    assert "customAttributes" in (GENESYS / "web-messaging.html").read_text()


def test_the_legacy_snippet_sets_user_data_that_arrives_as_the_context_keys_read() -> None:
    names = _attributes("legacy-webchat.html")
    assert names == {"persistentSessionId", "customerIdHashed", "resumedFromConversationId"}
    read = {*PSID_KEYS, *HASH_KEYS, *RESUMED_KEYS}
    assert {f"context.{n}" for n in names} <= read
    assert "userData" in (GENESYS / "legacy-webchat.html").read_text()
