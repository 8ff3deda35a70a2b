"""The shipped data action (deploy/genesys/) against the real API: its token request and its
rendered request body, as Genesys would send them, are accepted (issue 17, item 7)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.api.support import ACTION_ID, CREDENTIALS, RunningApi, bearer
from tests.unit.deploy.test_genesys_artefacts import SAMPLE, _action
from tests.unit.deploy.velocity import render

pytestmark = pytest.mark.integration


async def test_the_rendered_data_action_is_accepted_with_the_token_its_auth_action_gets(
    api: RunningApi,
) -> None:
    auth = _action("data-action-auth.json")["config"]["request"]
    basic = base64.b64encode(f"{ACTION_ID}:{CREDENTIALS[ACTION_ID][0]}".encode()).decode()
    token = await api.anonymous.post(
        "/oauth/token", content=auth["requestTemplate"],
        headers={"Authorization": f"Basic {basic}",
                 "Content-Type": auth["headers"]["Content-Type"]})
    assert token.status_code == 200, token.text
    persist = _action("data-action-persist.json")["config"]["request"]
    body = render(persist["requestTemplate"], SAMPLE)
    r = await api.anonymous.post(
        "/v1/chat-state/persist", content=body,
        headers={**bearer(token.json()["access_token"]),
                 "Content-Type": persist["headers"]["Content-Type"]})
    assert r.status_code == 202, r.text
    assert json.loads(r.text)["accepted"] is True
