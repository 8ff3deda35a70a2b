"""Bearer tokens: a token verified once is remembered, and still expires and still must match."""

from __future__ import annotations

import pytest

from processor.api.exceptions import Unauthorized
from processor.api.tokens import TokenSigner

NOW = 1_800_000_000


def test_a_remembered_token_still_expires() -> None:
    signer = TokenSigner(b"k" * 32, ttl_s=300)
    token, _ = signer.issue("client", NOW)
    assert signer.verify(token, NOW + 1).sub == "client"  # checked, then remembered
    with pytest.raises(Unauthorized, match="token expired"):
        signer.verify(token, NOW + 300)


def test_a_token_differing_from_a_remembered_one_is_checked_again() -> None:
    signer = TokenSigner(b"k" * 32, ttl_s=300)
    token, _ = signer.issue("client", NOW)
    signer.verify(token, NOW)
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    with pytest.raises(Unauthorized, match=r"bad signature|malformed"):
        signer.verify(tampered, NOW)


def test_a_token_from_another_key_is_refused_even_by_a_signer_that_remembers_tokens() -> None:
    ours, theirs = TokenSigner(b"k" * 32, ttl_s=300), TokenSigner(b"x" * 32, ttl_s=300)
    token, _ = theirs.issue("client", NOW)
    theirs.verify(token, NOW)
    with pytest.raises(Unauthorized, match="bad signature"):
        ours.verify(token, NOW)
