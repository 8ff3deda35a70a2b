"""Bearer tokens: what a token carries, what verification refuses, and the remembered-token fast
path still expiring and still matching."""

from __future__ import annotations

import base64
import json

import pytest

from processor.api.exceptions import Unauthorized
from processor.api.tokens import TokenSigner, key_id

NOW = 1_800_000_000
KEY, OLD_KEY, OTHER_KEY = b"k" * 32, b"o" * 32, b"x" * 32


def signer(*keys: bytes, ttl_s: int = 300, issuer: str = "chatstate",
           audience: str = "chatstate-api") -> TokenSigner:
    return TokenSigner(keys or (KEY,), ttl_s, issuer=issuer, audience=audience)


def _part(token: str, i: int) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(token.split(".")[i] + "=="))
    return decoded


def test_a_token_carries_kid_iss_aud_and_scope() -> None:
    token, _ = signer().issue("client", ["snapshots", "sessions"], NOW)
    assert _part(token, 0) == {"alg": "HS256", "typ": "JWT", "kid": key_id(KEY)}
    claims = _part(token, 1)
    assert (claims["iss"], claims["aud"], claims["sub"], claims["scope"]) == (
        "chatstate", "chatstate-api", "client", "sessions snapshots")
    assert claims["exp"] == NOW + 300


def test_a_remembered_token_still_expires() -> None:
    s = signer()
    token, _ = s.issue("client", ["sessions"], NOW)
    assert s.verify(token, NOW + 1).sub == "client"  # checked, then remembered
    with pytest.raises(Unauthorized, match="token expired"):
        s.verify(token, NOW + 300)


def test_a_token_differing_from_a_remembered_one_is_checked_again() -> None:
    s = signer()
    token, _ = s.issue("client", ["sessions"], NOW)
    s.verify(token, NOW)
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    with pytest.raises(Unauthorized, match=r"bad signature|malformed"):
        s.verify(tampered, NOW)


def test_a_token_from_another_key_is_refused_as_an_unknown_key() -> None:
    ours, theirs = signer(KEY), signer(OTHER_KEY)
    token, _ = theirs.issue("client", ["sessions"], NOW)
    theirs.verify(token, NOW)
    with pytest.raises(Unauthorized, match="unknown signing key"):
        ours.verify(token, NOW)


def test_a_previous_key_is_accepted_during_a_rotation_and_new_tokens_use_the_current_one() -> None:
    before = signer(OLD_KEY)
    old_token, _ = before.issue("client", ["sessions"], NOW)
    during = signer(KEY, OLD_KEY)
    assert during.verify(old_token, NOW).sub == "client"
    new_token, _ = during.issue("client", ["sessions"], NOW)
    assert _part(new_token, 0)["kid"] == key_id(KEY)
    after = signer(KEY)
    assert after.verify(new_token, NOW).sub == "client"
    with pytest.raises(Unauthorized, match="unknown signing key"):
        after.verify(old_token, NOW)


def test_a_kid_naming_a_held_key_but_signed_with_another_is_a_bad_signature() -> None:
    token, _ = signer(OTHER_KEY).issue("client", ["sessions"], NOW)
    _, body, sig = token.split(".")
    forged_head = base64.urlsafe_b64encode(json.dumps(
        {"alg": "HS256", "typ": "JWT", "kid": key_id(KEY)}, separators=(",", ":")).encode()
    ).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="bad signature"):
        signer(KEY).verify(f"{forged_head}.{body}.{sig}", NOW)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("issuer", "someone-else", "wrong issuer"), ("audience", "another-api", "wrong audience")])
def test_a_token_for_another_issuer_or_audience_is_refused(field: str, value: str,
                                                           reason: str) -> None:
    token, _ = signer(**{field: value}).issue("client", ["sessions"], NOW)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized, match=reason):
        signer().verify(token, NOW)


def test_a_token_living_longer_than_the_configured_ttl_is_refused() -> None:
    token, _ = signer(ttl_s=86_400).issue("client", ["sessions"], NOW)
    with pytest.raises(Unauthorized, match="lifetime longer than allowed"):
        signer(ttl_s=3600).verify(token, NOW + 1)


def test_keys_shorter_than_32_bytes_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        signer(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        signer(KEY, b"short-previous")
