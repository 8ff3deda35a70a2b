"""CHATSTATE_OAUTH_CLIENTS: what is accepted, what is refused at start (naming the variable and
the client, never the value), and the secret check."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from argon2 import PasswordHasher, Type

from processor.api.clients import ClientRegistry, hash_secret, parse_clients
from processor.errors import ConfigError

SECRET = "synthetic-secret-for-unit-tests"
HASH = hash_secret(SECRET)


def test_a_valid_client_is_parsed_with_its_scopes() -> None:
    clients = parse_clients({"web": {"secret_hash": HASH, "scopes": ["sessions"]}})
    assert clients["web"].scopes == frozenset({"sessions"})


def test_the_same_secret_hashes_differently_each_time() -> None:
    assert hash_secret(SECRET) != hash_secret(SECRET)  # salted


@pytest.mark.parametrize(("entry", "why"), [
    (hashlib.sha256(SECRET.encode()).hexdigest(), "bare SHA-256 form"),
    ({"secret_hash": hashlib.sha256(SECRET.encode()).hexdigest(), "scopes": ["sessions"]},
     "not an Argon2id hash"),
    ({"secret_hash": "not-a-hash", "scopes": ["sessions"]}, "not an Argon2id hash"),
    ({"secret_hash": HASH, "scopes": ["sessions", "admin"]}, "unknown scopes ['admin']"),
    ({"secret_hash": HASH, "scopes": []}, "non-empty scopes"),
    ({"secret_hash": HASH}, "non-empty scopes"),
    ({"scopes": ["sessions"]}, "no secret_hash"),
    ({"secret_hash": HASH, "scopes": ["sessions"], "extra": 1}, "unknown keys"),
    ({"secret_hash": PasswordHasher(memory_cost=1024, time_cost=1).hash(SECRET),
      "scopes": ["sessions"]}, "weaker than"),
    ({"secret_hash": PasswordHasher(type=Type.I).hash(SECRET),
      "scopes": ["sessions"]}, "not Argon2id"),
])
def test_a_bad_client_is_refused_naming_the_variable_and_client_not_the_value(
    entry: Any, why: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_clients({"web-backend": entry})
    message = str(refused.value)
    assert message.startswith("CHATSTATE_OAUTH_CLIENTS: client 'web-backend'")
    assert why in message
    for value in (SECRET, hashlib.sha256(SECRET.encode()).hexdigest(), HASH):
        assert value not in message


async def test_the_registry_knows_the_right_secret_only() -> None:
    registry = ClientRegistry(parse_clients(
        {"web": {"secret_hash": HASH, "scopes": ["sessions"]}}))
    known = await registry.authenticate("web", SECRET)
    assert known is not None
    assert known.client_id == "web"
    assert await registry.authenticate("web", "wrong") is None
    assert await registry.authenticate("nobody", SECRET) is None
