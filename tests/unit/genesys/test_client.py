"""The client's promises, against httpx.MockTransport: token cached and refreshed before
expiry, a 401 refreshes and retries exactly once, 429 waits Retry-After, 5xx backs off, and the
budget holds the request rate."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from processor.errors import ConfigError
from processor.genesys import (
    GenesysApi,
    GenesysAuthError,
    GenesysClient,
    GenesysHTTPError,
    RequestBudget,
    RetryPolicy,
    TokenSource,
    base_urls,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fake:
    """A login service and an API whose answers a test scripts."""

    def __init__(self, api: Handler, expires_in: int = 3600) -> None:
        self.api, self.expires_in = api, expires_in
        self.tokens_issued = 0
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            auth = base64.b64decode(request.headers["authorization"].split()[1]).decode()
            assert auth == "cid:secret"
            assert request.content == b"grant_type=client_credentials"
            self.tokens_issued += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.tokens_issued}", "expires_in": self.expires_in}
            )
        self.calls.append(request)
        return self.api(request)


def make(
    fake: Fake, clock: Clock | None = None, budget: RequestBudget | None = None, attempts: int = 4
) -> GenesysClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    tokens = TokenSource(http, "https://login.x", "cid", SecretStr("secret"), clock or Clock())
    return GenesysClient(
        http,
        "https://api.x",
        tokens,
        budget or RequestBudget(60_000, burst=1000),
        RetryPolicy(attempts=attempts, base_s=0.001, cap_s=0.002),
        random.Random(1),
    )


async def test_token_is_cached_then_refreshed_before_it_expires() -> None:
    clock = Clock()
    fake = Fake(
        lambda r: httpx.Response(200, json={"ok": r.headers["authorization"]}), expires_in=3600
    )
    client = make(fake, clock)
    assert await client.request("GET", "/a") == {"ok": "Bearer t1"}
    clock.now += 3000  # 600 s left: still outside the 300 s margin
    assert await client.request("GET", "/a") == {"ok": "Bearer t1"}
    clock.now += 400  # 200 s left: refreshed before it can expire mid-flight
    assert await client.request("GET", "/a") == {"ok": "Bearer t2"}
    assert fake.tokens_issued == 2


async def test_401_refreshes_and_retries_exactly_once() -> None:
    def api(r: httpx.Request) -> httpx.Response:
        return httpx.Response(401 if r.headers["authorization"] == "Bearer t1" else 200, json={})

    fake = Fake(api)
    assert await make(fake).request("GET", "/a") == {}
    assert [c.headers["authorization"] for c in fake.calls] == ["Bearer t1", "Bearer t2"]

    always = Fake(lambda r: httpx.Response(401, json={}))
    with pytest.raises(GenesysHTTPError) as err:
        await make(always).request("GET", "/a")
    assert err.value.status == 401
    assert len(always.calls) == 2  # one retry, not a loop


async def test_429_waits_retry_after_for_every_caller() -> None:
    answers = iter([429, 200])
    fake = Fake(lambda r: httpx.Response(next(answers), json={}, headers={"retry-after": "0.3"}))
    budget = RequestBudget(60_000, burst=1000)
    client = make(fake, budget=budget)
    import time

    started = time.monotonic()
    assert await client.request("GET", "/a") == {}
    assert time.monotonic() - started >= 0.3
    assert client.counts["429"] == 1


async def test_5xx_backs_off_then_gives_up_naming_status_not_body() -> None:
    fake = Fake(lambda r: httpx.Response(503, text="secret participant data"))
    with pytest.raises(GenesysHTTPError) as err:
        await make(fake, attempts=3).request("GET", "/api/v2/x")
    assert len(fake.calls) == 3
    assert "503" in str(err.value)
    assert "secret" not in str(err.value)


async def test_network_errors_are_retried() -> None:
    n = {"calls": 0}

    def api(r: httpx.Request) -> httpx.Response:
        n["calls"] += 1
        if n["calls"] < 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"ok": 1})

    assert await make(Fake(api)).request("GET", "/a") == {"ok": 1}


async def test_refused_client_is_an_auth_error_naming_the_settings() -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    tokens = TokenSource(http, "https://login.x", "cid", SecretStr("s3cr3t"))
    with pytest.raises(GenesysAuthError) as err:
        await GenesysClient(http, "https://api.x", tokens).request("GET", "/a")
    assert "GENESYS_CLIENT_ID" in str(err.value)
    assert "s3cr3t" not in str(err.value)


async def test_budget_holds_the_rate() -> None:
    import time

    budget = RequestBudget(per_minute=600, burst=2)  # 10/s after a burst of 2
    started = time.monotonic()
    for _ in range(7):
        await budget.acquire()
    assert time.monotonic() - started >= 0.45  # 5 beyond the burst at 10/s


async def test_pages_are_followed() -> None:
    def api(r: httpx.Request) -> httpx.Response:
        page = int(r.url.params["pageNumber"])
        return httpx.Response(200, json={"entities": [{"id": f"q{page}"}], "pageCount": 3})

    queues = await GenesysApi(make(Fake(api))).queues()
    assert [q["id"] for q in queues] == ["q1", "q2", "q3"]


def test_regions_and_explicit_urls() -> None:
    assert base_urls("mypurecloud.ie").api == "https://api.mypurecloud.ie"
    assert base_urls("euw2.pure.cloud").login == "https://login.euw2.pure.cloud"
    assert base_urls(None, "http://e:1/", "http://e:1").api == "http://e:1"
    with pytest.raises(ConfigError, match="GENESYS_REGION"):
        base_urls(None)
    with pytest.raises(ConfigError, match="go together"):
        base_urls(None, "http://e:1")
    with pytest.raises(ConfigError):
        base_urls("not a region")


async def test_renew_before_gives_a_token_that_outlives_the_channel_it_will_create() -> None:
    clock = Clock()
    fake = Fake(lambda r: httpx.Response(200, json={}), expires_in=3600)
    tokens = make(fake, clock).tokens
    first = await tokens.renew_before(1800)
    assert fake.tokens_issued == 1
    assert (await tokens.renew_before(1800)) is first  # 3,600 s left: kept
    clock.now += 2000  # 1,600 s left: not enough for a channel planned to live 1,800 s
    second = await tokens.renew_before(1800)
    assert second is not first
    assert fake.tokens_issued == 2
    assert second.renew_at == clock.now + 3600 - 300
