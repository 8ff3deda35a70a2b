"""``chatstate api`` serves with several uvicorn workers: what must still look like one API."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.api.conftest import ServedApi

pytestmark = pytest.mark.e2e


def test_metrics_add_up_the_requests_every_worker_answered(served_api: ServedApi) -> None:
    sent = 40
    for _ in range(sent):
        # A new connection each time: the kernel hands them to whichever worker accepts first.
        assert httpx.get(f"{served_api.base_url}/healthz").status_code == 200
    text = httpx.get(f"{served_api.base_url}/metrics").text
    counted = re.search(
        r'^chatstate_api_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
        text, re.M)
    assert counted is not None, "no /healthz request counted"
    assert float(counted.group(1)) == sent


def test_a_token_from_one_worker_is_accepted_by_every_worker(served_api: ServedApi) -> None:
    token = served_api.token()
    for _ in range(10):
        r = httpx.post(f"{served_api.base_url}/v1/chat-state/persist",
                       headers={"Authorization": f"Bearer {token}"}, json={})
        assert r.status_code == 422  # past authentication: the empty body is what is refused
