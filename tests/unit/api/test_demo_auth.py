"""``chatstate run``'s demo credentials: made only when missing, and the API accepts them."""

from __future__ import annotations

import json

from argon2 import PasswordHasher

from processor.api.clients import parse_clients
from processor.api.tokens import MIN_KEY_BYTES
from processor.cli._demo_auth import DEMO_CLIENT_ID, demo_api_auth


def test_a_missing_key_and_client_are_made_and_the_secret_is_said_once() -> None:
    added, said = demo_api_auth({})
    assert len(added["CHATSTATE_TOKEN_SIGNING_KEY"].encode()) >= MIN_KEY_BYTES
    client = parse_clients(json.loads(added["CHATSTATE_OAUTH_CLIENTS"]))[DEMO_CLIENT_ID]
    assert client.scopes == {"sessions", "snapshots"}
    secret = said[-1].rsplit("CLIENT_SECRET=", 1)[1].strip()
    assert PasswordHasher().verify(client.secret_hash, secret)
    assert secret not in added["CHATSTATE_OAUTH_CLIENTS"]


def test_configured_values_are_never_replaced() -> None:
    added, said = demo_api_auth({"CHATSTATE_TOKEN_SIGNING_KEY": "k" * 40,
                                 "CHATSTATE_OAUTH_CLIENTS": "{}"})
    assert added == {}
    assert said == []
