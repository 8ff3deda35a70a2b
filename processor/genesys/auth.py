"""OAuth client credentials against the org's login service, with the token cached.

Why refresh *before* expiry: a token that expires between two calls turns the next call into a
401 and a second round trip; refreshing at ``refresh_margin`` of its life (10% or 5 minutes,
whichever is shorter) keeps the 401 path for the cases nobody can predict (a token revoked, an
emulator told to expire it). One refresh runs at a time; concurrent callers share it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from processor.genesys.exceptions import GenesysAuthError, GenesysError

__all__ = ["Token", "TokenSource"]


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    expires_at: float  # clock() time
    lifetime_s: float

    @property
    def renew_at(self) -> float:
        """When to stop using it: 10% of its life or 5 minutes before it expires."""
        return self.expires_at - min(300.0, self.lifetime_s * 0.1)

    def fresh(self, now: float) -> bool:
        return now < self.renew_at


class TokenSource:
    def __init__(
        self,
        http: httpx.AsyncClient,
        login_base_url: str,
        client_id: str,
        client_secret: SecretStr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http, self._url = http, f"{login_base_url}/oauth/token"
        self._id, self._secret = client_id, client_secret
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.fetched = 0  # tokens fetched (tests, metrics)

    async def get(self) -> str:
        token = self._token
        if token is not None and token.fresh(self._clock()):
            return token.value
        async with self._lock:
            token = self._token
            if token is None or not token.fresh(self._clock()):
                token = self._token = await self._fetch()
            return token.value

    @property
    def current(self) -> Token | None:
        return self._token

    async def renew_before(self, seconds: float) -> Token:
        """A token that lives at least ``seconds`` more, fetched if the cached one does not.
        A notification channel belongs to the token that created it and stops with it, so
        channels are created with a token that outlives their planned life."""
        async with self._lock:
            token = self._token
            if token is None or token.expires_at - self._clock() < seconds:
                token = self._token = await self._fetch()
            return token

    def invalidate(self, value: str) -> None:
        """The API refused ``value`` (401): the next :meth:`get` fetches a new token, unless
        another caller already did."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self) -> Token:
        try:
            resp = await self._http.post(
                self._url,
                data={"grant_type": "client_credentials"},
                auth=(self._id, self._secret.get_secret_value()),
                headers={"accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise GenesysError(f"login service unreachable: {type(exc).__name__}") from None
        if resp.status_code in (400, 401, 403):
            raise GenesysAuthError(
                f"OAuth client refused by the login service ({resp.status_code}): check "
                "GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET and that the client's grant type is "
                "Client Credentials"
            )
        if resp.status_code != 200:
            raise GenesysError(f"login service answered {resp.status_code}")
        body = resp.json()
        lifetime = float(body.get("expires_in", 86400))
        self.fetched += 1
        return Token(str(body["access_token"]), self._clock() + lifetime, lifetime)
