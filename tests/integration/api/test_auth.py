"""Who may call the API: POST /oauth/token, the bearer check and scopes on every /v1 route, and
the rate limits on tokens and on issuing sessions."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from processor.api.tokens import TokenSigner
from tests.integration.api.support import (
    ACTION_ID,
    AUDIENCE,
    BACKEND_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    SIGNING_KEY,
    RunningApi,
    StackSlice,
    api_settings,
    bearer,
    customer_hash,
    running_api,
    snapshot_body,
    token_form,
)

pytestmark = pytest.mark.integration

PERSIST = "/v1/chat-state/persist"
OTHER_KEY = "another-synthetic-signing-key-0123456789abcdef"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return decoded


def _forge(*, key: str = SIGNING_KEY, client: str = CLIENT_ID, scopes: tuple[str, ...] = (
        "sessions", "snapshots"), issuer: str = ISSUER, audience: str = AUDIENCE,
        ttl_s: int = 3600, now: int | None = None) -> str:
    """A token as some signer would make it: ours with other claims, or someone else's."""
    signer = TokenSigner([key.encode()], ttl_s, issuer=issuer, audience=audience)
    return signer.issue(client, scopes, int(time.time()) if now is None else now)[0]


def _v1_requests() -> list[tuple[str, str, dict[str, Any]]]:
    """Every /v1 route with a request that is valid apart from authentication."""
    psid = str(uuid.uuid4())
    customer = {"X-Customer-Id-Hashed": customer_hash()}
    return [
        ("POST", "/v1/sessions", {"json": {"customerIdHashed": customer_hash()}}),
        ("GET", f"/v1/sessions/{psid}/context", {"headers": customer}),
        ("POST", f"/v1/sessions/{psid}/close", {"headers": customer}),
        ("POST", PERSIST, {"json": snapshot_body(psid)}),
    ]


async def _call(http: httpx.AsyncClient, method: str, path: str, token: str | None = None,
                **kwargs: Any) -> httpx.Response:
    headers = {**kwargs.pop("headers", {}), **(bearer(token) if token is not None else {})}
    return await http.request(method, path, headers=headers, **kwargs)


async def _persist_with(api: RunningApi, token: str | None) -> httpx.Response:
    return await _call(api.anonymous, "POST", PERSIST, token,
                       json=snapshot_body(str(uuid.uuid4())))


def _refused(r: httpx.Response, reason: str) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith('Bearer realm="chatstate", '
                                                    'error="invalid_token"')
    assert r.json()["error"] == "invalid_token"
    assert reason in r.json()["message"]


# --- POST /oauth/token -------------------------------------------------------------------------

async def test_client_credentials_in_the_form_get_a_token_with_kid_iss_aud_and_scope(
    api: RunningApi,
) -> None:
    r = await api.anonymous.post("/oauth/token", data=token_form(ACTION_ID))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600,
                                                                      "snapshots")
    head = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert head["kid"]
    claims = _claims(body["access_token"])
    assert (claims["sub"], claims["iss"], claims["aud"], claims["scope"]) == (
        ACTION_ID, ISSUER, AUDIENCE, "snapshots")
    assert claims["exp"] - claims["iat"] == 3600


async def test_client_credentials_as_http_basic_get_a_bearer_token(api: RunningApi) -> None:
    r = await api.anonymous.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(CLIENT_ID, CLIENT_SECRET))
    assert r.status_code == 200
    assert r.json()["access_token"]


async def test_a_client_may_ask_for_fewer_scopes_but_not_more(api: RunningApi) -> None:
    fewer = await api.anonymous.post("/oauth/token", data={**token_form(), "scope": "sessions"})
    assert _claims(fewer.json()["access_token"])["scope"] == "sessions"
    more = await api.anonymous.post("/oauth/token",
                                    data={**token_form(BACKEND_ID), "scope": "snapshots"})
    assert more.status_code == 400
    assert more.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(("client_id", "secret"), [
    (CLIENT_ID, "wrong-secret"), ("unknown-client", CLIENT_SECRET), (CLIENT_ID, ""), ("", ""),
])
async def test_wrong_client_credentials_are_401_invalid_client(
    api: RunningApi, client_id: str, secret: str
) -> None:
    r = await api.anonymous.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert CLIENT_SECRET not in r.text


async def test_wrong_basic_credentials_are_401_with_a_basic_challenge(api: RunningApi) -> None:
    r = await api.anonymous.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(CLIENT_ID, "wrong-secret"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_another_grant_type_is_400_unsupported_grant_type(api: RunningApi) -> None:
    r = await api.anonymous.post("/oauth/token", data={**token_form(), "grant_type": "password"})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


async def test_token_requests_are_rate_limited_per_client_with_retry_after(
    env: StackSlice,
) -> None:
    settings = api_settings(env.settings(), api_token_burst=2, api_token_rate_per_min=6)
    async with running_api(settings, kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        # running_api took one of CLIENT_ID's two; wrong secrets count too (guessing is limited)
        wrong = await api.anonymous.post("/oauth/token", data={**token_form(),
                                                               "client_secret": "guess"})
        limited = await api.anonymous.post("/oauth/token", data=token_form())
        other_client = await api.anonymous.post("/oauth/token", data=token_form(BACKEND_ID))
    assert wrong.status_code == 401
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    # 6 a minute: one every 10 s, less the time the Argon2 checks before it took
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert other_client.status_code == 200  # each client has its own bucket


# --- every /v1 route needs a valid token -------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "kwargs"), _v1_requests())
async def test_every_v1_route_is_401_without_a_token(
    api: RunningApi, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = await _call(api.anonymous, method, path, **kwargs)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="chatstate"'  # RFC 6750 3.1
    assert r.json()["error"] == "missing_token"
    assert r.json()["message"]


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("POST", PERSIST, {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("POST", "/v1/sessions", {"json": {"customerIdHashed": "not-a-hash"}}),
    ("POST", "/v1/sessions", {"content": b"{not json",
                              "headers": {"content-type": "application/json"}}),
    ("GET", "/v1/sessions/not-a-uuid/context", {}),
    ("POST", "/v1/sessions/not-a-uuid/close", {}),
])
async def test_the_token_is_checked_before_the_path_or_body(
    api: RunningApi, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = await _call(api.anonymous, method, path, **kwargs)
    assert r.status_code == 401  # not 422: an anonymous caller learns nothing of the contract
    bad = await _call(api.anonymous, method, path, "not.a.token", **kwargs)
    assert bad.status_code == 401


async def test_a_valid_token_is_accepted(api: RunningApi) -> None:
    r = await _persist_with(api, await api.token(ACTION_ID))
    assert r.status_code == 202


async def test_an_expired_token_is_401(api: RunningApi) -> None:
    expired = _forge(ttl_s=60, now=int(time.time()) - 61)
    r = await _persist_with(api, expired)
    _refused(r, "expired")
    assert expired not in r.text


async def test_a_token_with_tampered_claims_is_401(api: RunningApi) -> None:
    head, body, sig = (await api.token()).split(".")
    claims = _claims(f"{head}.{body}.{sig}")
    claims["scope"] = "sessions snapshots erasure"
    _refused(await _persist_with(api, ".".join([head, _b64(json.dumps(claims).encode()), sig])),
             "bad signature")


async def test_a_token_for_another_audience_is_401(api: RunningApi) -> None:
    _refused(await _persist_with(api, _forge(audience="some-other-api")), "wrong audience")


async def test_a_token_from_another_issuer_is_401(api: RunningApi) -> None:
    _refused(await _persist_with(api, _forge(issuer="someone-else")), "wrong issuer")


async def test_a_token_longer_lived_than_the_configured_ttl_is_401(api: RunningApi) -> None:
    _refused(await _persist_with(api, _forge(ttl_s=30 * 86_400)), "lifetime longer")


async def test_a_token_of_a_client_no_longer_configured_is_401(api: RunningApi) -> None:
    # What a removed client's tokens look like to the API after the restart that removed it:
    # well signed, unexpired, and naming a client it no longer has.
    _refused(await _persist_with(api, _forge(client="removed-client")), "no longer configured")


async def test_a_token_signed_with_an_unknown_key_is_401(api: RunningApi) -> None:
    _refused(await _persist_with(api, _forge(key=OTHER_KEY)), "unknown signing key")


async def test_an_unsigned_alg_none_token_is_401(api: RunningApi) -> None:
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps(_claims(await api.token())).encode())
    _refused(await _persist_with(api, f"{head}.{body}."), "unsupported token header")


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "....", "!!.??.**", "e30.e30."])
async def test_a_malformed_token_is_401(api: RunningApi, garbage: str) -> None:
    r = await _persist_with(api, garbage)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


async def test_during_a_rotation_the_previous_key_is_accepted_and_new_tokens_use_the_new_one(
    env: StackSlice,
) -> None:
    old_token = _forge(key=SIGNING_KEY)
    rotated = api_settings(env.settings(), token_signing_key=SecretStr(OTHER_KEY),
                           token_previous_keys=[SecretStr(SIGNING_KEY)])
    async with running_api(rotated, kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        assert (await _persist_with(api, old_token)).status_code == 202
        new_token = await api.token()
        assert (await _persist_with(api, new_token)).status_code == 202
    done = api_settings(env.settings(), token_signing_key=SecretStr(OTHER_KEY))
    async with running_api(done, kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        _refused(await _persist_with(api, old_token), "unknown signing key")
        assert (await _persist_with(api, new_token)).status_code == 202


# --- scopes ------------------------------------------------------------------------------------

async def test_a_snapshots_only_client_cannot_touch_sessions(api: RunningApi) -> None:
    token = await api.token(ACTION_ID)
    for method, path, kwargs in _v1_requests()[:3]:
        r = await _call(api.anonymous, method, path, token, **kwargs)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"] == "insufficient_scope"
        assert r.headers["www-authenticate"] == (
            'Bearer realm="chatstate", error="insufficient_scope", scope="sessions"')


async def test_a_sessions_only_client_cannot_post_snapshots(api: RunningApi) -> None:
    r = await _persist_with(api, await api.token(BACKEND_ID))
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"
    assert 'scope="snapshots"' in r.headers["www-authenticate"]


async def test_a_scope_the_client_no_longer_has_is_refused_even_in_an_older_token(
    api: RunningApi,
) -> None:
    # BACKEND_ID is configured with sessions only; a token claiming snapshots for it (issued
    # before its scopes were narrowed) does not get them.
    r = await _persist_with(api, _forge(client=BACKEND_ID, scopes=("sessions", "snapshots")))
    assert r.status_code == 403


async def test_the_web_back_end_issues_reads_and_closes_with_its_sessions_token(
    api: RunningApi,
) -> None:
    token = await api.token(BACKEND_ID)
    issued = await _call(api.anonymous, "POST", "/v1/sessions", token,
                         json={"customerIdHashed": customer_hash()})
    assert issued.status_code == 201
    psid = issued.json()["persistentSessionId"]
    customer = {"X-Customer-Id-Hashed": customer_hash()}
    context = await _call(api.anonymous, "GET", f"/v1/sessions/{psid}/context", token,
                          headers=customer)
    closed = await _call(api.anonymous, "POST", f"/v1/sessions/{psid}/close", token,
                         headers=customer)
    assert (context.status_code, closed.status_code) == (200, 202)


# --- no clients at all -------------------------------------------------------------------------

async def test_with_no_client_configured_the_api_starts_warns_and_refuses_every_v1_call(
    env: StackSlice, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = api_settings(env.settings(), oauth_clients={})
    async with running_api(settings, kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        assert (await api.anonymous.get("/healthz")).status_code == 200
        token = await api.anonymous.post("/oauth/token", data=token_form())
        answers = [(await _call(api.anonymous, m, p, _forge(), **kw)).status_code
                   for m, p, kw in _v1_requests()]
    assert token.status_code == 401
    assert answers == [401, 401, 401, 401]
    written = capsys.readouterr()  # where the log goes depends on how logging was configured
    assert "api_no_clients_configured" in written.out + written.err


# --- rate limits on issuing sessions -----------------------------------------------------------

async def test_issuing_is_rate_limited_per_customer_with_retry_after(env: StackSlice) -> None:
    settings = api_settings(env.settings(), api_issue_burst_per_customer=2,
                            api_issue_rate_per_customer_per_min=2)
    async with running_api(settings, kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        body = {"customerIdHashed": customer_hash("customer-limited")}
        answers = [(await api.client.post("/v1/sessions", json=body)) for _ in range(3)]
        another = await api.client.post("/v1/sessions",
                                        json={"customerIdHashed": customer_hash("customer-2")})
    assert [a.status_code for a in answers] == [201, 200, 429]
    assert answers[2].json()["error"] == "rate_limited"
    assert 1 <= int(answers[2].headers["retry-after"]) <= 30  # 2 a minute
    assert customer_hash("customer-limited") not in answers[2].text
    assert another.status_code == 201


async def test_issuing_has_an_overall_ceiling(env: StackSlice) -> None:
    settings = api_settings(env.settings(), api_issue_burst_total=3,
                            api_issue_rate_total_per_s=0.5)
    async with running_api(settings, kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as api:
        answers = [(await api.client.post("/v1/sessions", json={
            "customerIdHashed": customer_hash(f"customer-{i}")})) for i in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert 1 <= int(answers[3].headers["retry-after"]) <= 2
