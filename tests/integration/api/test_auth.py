"""POST /oauth/token and the bearer check on /v1/chat-state/persist."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from processor.api.tokens import TokenSigner
from tests.integration.api.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_KEY,
    RunningApi,
    snapshot_body,
)

pytestmark = pytest.mark.integration

PERSIST = "/v1/chat-state/persist"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _persist_with(api: RunningApi, token: str | None) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    r = await api.client.post(PERSIST, json=snapshot_body(str(uuid.uuid4())), headers=headers)
    return r.status_code, r.headers.get("www-authenticate", ""), r.text


async def test_client_credentials_in_the_form_get_a_bearer_token(api: RunningApi) -> None:
    r = await api.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    assert claims["sub"] == CLIENT_ID
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]


async def test_client_credentials_as_http_basic_get_a_bearer_token(api: RunningApi) -> None:
    r = await api.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(CLIENT_ID, CLIENT_SECRET))
    assert r.status_code == 200
    assert r.json()["access_token"]


@pytest.mark.parametrize(("client_id", "secret"), [
    (CLIENT_ID, "wrong-secret"), ("unknown-client", CLIENT_SECRET), (CLIENT_ID, ""), ("", ""),
])
async def test_wrong_client_credentials_are_401_invalid_client(
    api: RunningApi, client_id: str, secret: str
) -> None:
    r = await api.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert CLIENT_SECRET not in r.text


async def test_wrong_basic_credentials_are_401_with_a_basic_challenge(api: RunningApi) -> None:
    r = await api.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(CLIENT_ID, "wrong-secret"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_another_grant_type_is_400_unsupported_grant_type(api: RunningApi) -> None:
    r = await api.client.post("/oauth/token", data={
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


async def test_a_valid_token_is_accepted(api: RunningApi) -> None:
    status, _, _ = await _persist_with(api, await api.token())
    assert status == 202


async def test_a_missing_token_is_401_with_a_bearer_challenge(api: RunningApi) -> None:
    status, challenge, _ = await _persist_with(api, None)
    assert status == 401
    assert challenge.startswith('Bearer error="invalid_token"')


async def test_an_expired_token_is_401(api: RunningApi) -> None:
    signer = TokenSigner(SIGNING_KEY.encode(), ttl_s=60)
    expired, _ = signer.issue(CLIENT_ID, now=int(time.time()) - 61)
    status, challenge, text = await _persist_with(api, expired)
    assert status == 401
    assert 'error="invalid_token"' in challenge
    assert "expired" in text
    assert expired not in text


async def test_a_token_with_tampered_claims_is_401(api: RunningApi) -> None:
    head, body, sig = (await api.token()).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["exp"] += 86_400
    forged = ".".join([head, _b64(json.dumps(claims).encode()), sig])
    status, _, text = await _persist_with(api, forged)
    assert status == 401
    assert "bad signature" in text


async def test_a_token_signed_with_another_key_is_401(api: RunningApi) -> None:
    other, _ = TokenSigner(b"some-other-key", ttl_s=60).issue(CLIENT_ID, now=int(time.time()))
    status, _, _ = await _persist_with(api, other)
    assert status == 401


async def test_an_unsigned_alg_none_token_is_401(api: RunningApi) -> None:
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    now = int(time.time())
    body = _b64(json.dumps({"sub": CLIENT_ID, "iat": now, "exp": now + 60, "jti": "x"}).encode())
    status, _, _ = await _persist_with(api, f"{head}.{body}.")
    assert status == 401


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "....", "!!.??.**", "e30.e30."])
async def test_a_malformed_token_is_401(api: RunningApi, garbage: str) -> None:
    status, _, _ = await _persist_with(api, garbage)
    assert status == 401
