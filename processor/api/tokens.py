"""Short-lived bearer tokens: compact JWS (``header.claims.signature``, HS256) from the stdlib.

Why not a JWT library: the API is both issuer and only verifier, needs one algorithm and a few
claims; a few lines of hmac/base64 are easier to audit than a dependency. The format is plain
JWT HS256, so standard tooling can still decode a token while debugging.

Verification refuses anything that is not exactly what ``issue`` writes: another ``alg`` (no
``none``), a ``kid`` naming no key it holds, a bad signature (compared in constant time), another
issuer or audience, a lifetime (``exp - iat``) longer than the configured TTL, a past ``exp``.

Keys: tokens are signed with the current key only; keys of ``CHATSTATE_TOKEN_PREVIOUS_KEYS`` are
still accepted, so a rotation does not cut every caller at once. The ``kid`` is derived from the
key (a hash prefix), so a key and its id can never be configured out of step.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from processor.api.exceptions import Unauthorized

__all__ = ["MIN_KEY_BYTES", "Claims", "TokenSigner", "key_id"]

MIN_KEY_BYTES = 32
_LEEWAY_S = 30  # clock skew tolerated for iat between API replicas
_REMEMBERED_TOKENS = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    """The ``kid`` of a key: names it without revealing it."""
    return hashlib.sha256(b"chatstate token key id\0" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Claims:
    sub: str  # the OAuth client id
    iat: int
    exp: int
    jti: str
    scopes: frozenset[str]


class TokenSigner:
    """Issues tokens with ``keys[0]``; verifies tokens of any of ``keys``."""

    def __init__(self, keys: Sequence[bytes], ttl_s: int, *, issuer: str, audience: str) -> None:
        if not keys or any(len(k) < MIN_KEY_BYTES for k in keys):
            raise ValueError(f"token signing keys must be at least {MIN_KEY_BYTES} bytes")
        self._keys = {key_id(k): k for k in keys}
        self._kid = key_id(keys[0])
        self.ttl_s = ttl_s
        self.issuer = issuer
        self.audience = audience
        # A caller reuses its token for every call until it expires: a token whose signature
        # and claims were checked once is remembered (exp and iat are still checked against
        # ``now`` on every use, the client and scope by the caller). Bounded; starts over when
        # full.
        self._verified: dict[str, Claims] = {}

    def _sign(self, key: bytes, signing_input: bytes) -> bytes:
        return hmac.new(key, signing_input, hashlib.sha256).digest()

    def issue(self, client_id: str, scopes: Sequence[str], now: int) -> tuple[str, Claims]:
        claims = Claims(sub=client_id, iat=now, exp=now + self.ttl_s, jti=uuid.uuid4().hex,
                        scopes=frozenset(scopes))
        payload = {"iss": self.issuer, "aud": self.audience, "sub": claims.sub,
                   "scope": " ".join(sorted(claims.scopes)), "iat": claims.iat,
                   "exp": claims.exp, "jti": claims.jti}
        head = _b64(json.dumps(self._header(self._kid), separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{head}.{body}".encode("ascii")
        return f"{head}.{body}.{_b64(self._sign(self._keys[self._kid], signing_input))}", claims

    @staticmethod
    def _header(kid: str) -> dict[str, str]:
        return {"alg": "HS256", "typ": "JWT", "kid": kid}

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
            header: Any = json.loads(_unb64(head))
            kid = header.get("kid") if isinstance(header, dict) else None
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None or header != self._header(kid):  # type: ignore[arg-type]
                raise Unauthorized("unknown signing key or unsupported token header")
            if not hmac.compare_digest(self._sign(key, f"{head}.{body}".encode("ascii")),
                                       _unb64(sig)):
                raise Unauthorized("bad signature")
            payload: Any = json.loads(_unb64(body))
        except (ValueError, UnicodeError) as exc:  # bad base64 / JSON / non-ASCII
            raise Unauthorized("malformed token") from exc
        try:
            claims = Claims(
                sub=str(payload["sub"]), iat=int(payload["iat"]), exp=int(payload["exp"]),
                jti=str(payload["jti"]), scopes=frozenset(str(payload["scope"]).split()),
            )
            issuer, audience = payload["iss"], payload["aud"]
        except (KeyError, TypeError, ValueError) as exc:
            raise Unauthorized("malformed claims") from exc
        if issuer != self.issuer:
            raise Unauthorized("wrong issuer")
        if audience != self.audience:
            raise Unauthorized("wrong audience")
        if claims.exp - claims.iat > self.ttl_s:
            raise Unauthorized("token lifetime longer than allowed")
        return claims
