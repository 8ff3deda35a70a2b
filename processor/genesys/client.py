"""One authenticated request to the Genesys API, with the retries a long-running bridge needs.

- 401: the token is dropped, a new one fetched, and the request sent once more; a second 401 is
  an error (the client lacks a permission, or the org revoked it), not a loop.
- 429: wait ``Retry-After`` seconds (the whole budget waits: the limit is per token), then retry.
- 5xx and network errors: exponential backoff with full jitter (AWS's "full jitter": the
  retries of many callers spread out instead of arriving together), up to ``attempts``.
- Everything else (4xx): an error at once, with the status and the path, never the body.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import httpx

from processor.genesys.auth import TokenSource
from processor.genesys.budget import RequestBudget
from processor.genesys.exceptions import GenesysAuthError, GenesysError, GenesysHTTPError

__all__ = ["GenesysClient", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # 5xx / network errors / 429s, each counted
    base_s: float = 0.2
    cap_s: float = 10.0
    retry_after_default_s: float = 1.0  # a 429 without Retry-After
    retry_after_max_s: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2**attempt))


class GenesysClient:
    """``request()`` returns the decoded JSON body (``None`` for an empty one)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_base_url: str,
        tokens: TokenSource,
        budget: RequestBudget | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._http, self._base = http, api_base_url
        self.tokens = tokens
        self.budget = budget or RequestBudget()
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.counts: dict[str, int] = {"requests": 0, "401": 0, "429": 0, "5xx": 0, "network": 0}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        refreshed = False
        attempt = 0
        while True:
            try:
                token = await self.tokens.get()
            except GenesysAuthError:
                raise
            except GenesysError:
                attempt = await self._wait_or_fail(attempt, method, path, None)
                continue
            await self.budget.acquire()
            self.counts["requests"] += 1
            try:
                resp = await self._http.request(
                    method,
                    f"{self._base}{path}",
                    json=json,
                    params=params,
                    headers={"authorization": f"Bearer {token}", "accept": "application/json"},
                )
            except httpx.HTTPError:
                self.counts["network"] += 1
                attempt = await self._wait_or_fail(attempt, method, path, None)
                continue
            status = resp.status_code
            if status == 401 and not refreshed:
                self.counts["401"] += 1
                self.tokens.invalidate(token)
                refreshed = True
                continue
            if status == 429:
                self.counts["429"] += 1
                self.budget.pause_for(self._retry_after(resp))
                attempt = await self._wait_or_fail(attempt, method, path, status, sleep=False)
                continue
            if status >= 500:
                self.counts["5xx"] += 1
                attempt = await self._wait_or_fail(attempt, method, path, status)
                continue
            if status >= 400:
                raise GenesysHTTPError(method, path, status)
            return resp.json() if resp.content else None

    def _retry_after(self, resp: httpx.Response) -> float:
        try:
            seconds = float(resp.headers.get("retry-after", ""))
        except ValueError:
            seconds = self.retry.retry_after_default_s
        return min(max(seconds, 0.0), self.retry.retry_after_max_s)

    async def _wait_or_fail(
        self, attempt: int, method: str, path: str, status: int | None, *, sleep: bool = True
    ) -> int:
        if attempt + 1 >= self.retry.attempts:
            if status is None:
                raise GenesysError(f"Genesys unreachable for {method} {path}")
            raise GenesysHTTPError(method, path, status)
        if sleep:
            await asyncio.sleep(self.retry.backoff(attempt, self._rng))
        return attempt + 1
