"""Short-lived bearer tokens: compact JWS (``header.claims.signature``, HS256) from the stdlib.

Why not a JWT library: the API is both issuer and only verifier, needs one algorithm and four
claims; a few lines of hmac/base64 are easier to audit than a dependency. The format is plain
JWT HS256, so standard tooling can still decode a token while debugging.

Verification refuses anything that is not exactly what ``issue`` writes: another ``alg`` (no
``none``), a bad signature (compared in constant time), a missing or past ``exp``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from processor.api.exceptions import Unauthorized

__all__ = ["Claims", "TokenSigner"]

_HEADER = {"alg": "HS256", "typ": "JWT"}
_LEEWAY_S = 30  # clock skew tolerated for iat between API replicas
_REMEMBERED_TOKENS = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Claims:
    sub: str  # the OAuth client id
    iat: int
    exp: int
    jti: str


class TokenSigner:
    def __init__(self, key: bytes, ttl_s: int) -> None:
        if not key:
            raise ValueError("token signing key must not be empty")
        self._key = key
        self.ttl_s = ttl_s
        # A data action reuses its token for every call until it expires: a token whose
        # signature and claims were checked once is remembered (exp and iat are still checked
        # against ``now`` on every use). Bounded; starts over when full.
        self._verified: dict[str, Claims] = {}

    def _sign(self, signing_input: bytes) -> bytes:
        return hmac.new(self._key, signing_input, hashlib.sha256).digest()

    def issue(self, client_id: str, now: int) -> tuple[str, Claims]:
        claims = Claims(sub=client_id, iat=now, exp=now + self.ttl_s, jti=uuid.uuid4().hex)
        head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims.__dict__, separators=(",", ":")).encode())
        signing_input = f"{head}.{body}".encode("ascii")
        return f"{head}.{body}.{_b64(self._sign(signing_input))}", claims

    def verify(self, token: str, now: int) -> Claims:
        """The token's claims, or ``Unauthorized`` with a reason safe to show (no token text)."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._check(token)
            if len(self._verified) >= _REMEMBERED_TOKENS:
                self._verified.clear()
            self._verified[token] = claims
        if claims.exp <= now:
            raise Unauthorized("token expired")
        if claims.iat > now + _LEEWAY_S:
            raise Unauthorized("token issued in the future")
        return claims

    def _check(self, token: str) -> Claims:
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthorized("malformed token")
        head, body, sig = parts
        try:
            expected = self._sign(f"{head}.{body}".encode("ascii"))
            if not hmac.compare_digest(expected, _unb64(sig)):
                raise Unauthorized("bad signature")
            header: Any = json.loads(_unb64(head))
            payload: Any = json.loads(_unb64(body))
        except (ValueError, UnicodeError) as exc:  # bad base64 / JSON / non-ASCII
            raise Unauthorized("malformed token") from exc
        if header != _HEADER:
            raise Unauthorized("unsupported token header")
        try:
            claims = Claims(
                sub=str(payload["sub"]), iat=int(payload["iat"]), exp=int(payload["exp"]),
                jti=str(payload["jti"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Unauthorized("malformed claims") from exc
        return claims
