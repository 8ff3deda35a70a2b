"""The API's clients: who may call it, with which scopes, proven by which secret.

``CHATSTATE_OAUTH_CLIENTS`` is a JSON object ``{client_id: {"secret_hash": "...", "scopes":
[...]}}``. Secrets are stored as Argon2id hashes (argon2-cffi; ``chatstate clients hash-secret``
prints one): salted, so two clients with the same secret do not share a hash, and slow and
memory-hard, so a leaked configuration does not give the secrets up to a GPU in an afternoon
the way an unsalted SHA-256 would. Anything else (the old SHA-256 hex, a wrong shape, an unknown
scope, weaker parameters than OWASP's minimum) is refused when the API starts, naming the
variable and the client id, never the value.

Verifying an Argon2 hash takes tens of milliseconds and 64 MiB by design: it runs in a thread
(argon2-cffi releases the GIL), one at a time per process, and only on ``POST /oauth/token``,
which a caller visits once per token lifetime and which is rate-limited per client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from processor.errors import ConfigError

__all__ = ["SCOPES", "Client", "ClientRegistry", "hash_secret", "parse_clients"]

# sessions: issue, context, close (the web back end); snapshots: persist (data actions);
# erasure: forgetting a customer (the privacy tooling).
SCOPES = frozenset({"sessions", "snapshots", "erasure"})
_VARIABLE = "CHATSTATE_OAUTH_CLIENTS"
# OWASP's floor for Argon2id (m=19 MiB, t=2); argon2-cffi's defaults (RFC 9106's low-memory
# profile: m=64 MiB, t=3, p=4) are above it.
_MIN_MEMORY_KIB = 19 * 1024
_MIN_TIME_COST = 2
_HASHER = PasswordHasher()  # RFC 9106 low-memory profile, Argon2id


@dataclass(frozen=True)
class Client:
    client_id: str
    secret_hash: str
    scopes: frozenset[str]


def hash_secret(secret: str) -> str:
    """The Argon2id hash of ``secret`` to put in ``CHATSTATE_OAUTH_CLIENTS`` (a fresh salt each
    call)."""
    if not secret:
        raise ValueError("an empty secret is not a secret")
    return _HASHER.hash(secret)


def _refuse(client_id: str, why: str) -> ConfigError:
    return ConfigError(f"{_VARIABLE}: client {client_id!r} {why}")


def _parse_one(client_id: str, entry: object) -> Client:
    if not client_id.strip():
        raise ConfigError(f"{_VARIABLE}: a client id is empty")
    if not isinstance(entry, Mapping):
        raise _refuse(client_id, 'must be {"secret_hash": "...", "scopes": [...]} (the bare '
                      "SHA-256 form is no longer accepted: `chatstate clients hash-secret`)")
    unknown = set(entry) - {"secret_hash", "scopes"}
    if unknown:
        raise _refuse(client_id, f"has unknown keys {sorted(unknown)}")
    secret_hash, scopes = entry.get("secret_hash"), entry.get("scopes")
    if not isinstance(secret_hash, str):
        raise _refuse(client_id, "has no secret_hash string")
    try:
        params = extract_parameters(secret_hash)
    except (InvalidHashError, ValueError):
        raise _refuse(client_id, "has a secret_hash that is not an Argon2id hash (make one with "
                      "`chatstate clients hash-secret`)") from None
    if params.type is not Type.ID:
        raise _refuse(client_id, "has a secret_hash that is not Argon2id (argon2i/argon2d)")
    if params.memory_cost < _MIN_MEMORY_KIB or params.time_cost < _MIN_TIME_COST:
        raise _refuse(client_id, f"has a secret_hash weaker than m={_MIN_MEMORY_KIB} KiB, "
                      f"t={_MIN_TIME_COST}")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise _refuse(client_id, f"needs a non-empty scopes list (of {sorted(SCOPES)})")
    if set(scopes) - SCOPES:
        raise _refuse(client_id, f"has unknown scopes {sorted(set(scopes) - SCOPES)}; known: "
                      f"{sorted(SCOPES)}")
    return Client(client_id, secret_hash, frozenset(scopes))


def parse_clients(raw: Mapping[str, object]) -> dict[str, Client]:
    """The configured clients, or ``ConfigError`` naming the variable and the client id."""
    return {client_id: _parse_one(client_id, entry) for client_id, entry in raw.items()}


class ClientRegistry:
    """The configured clients, and the secret check of ``POST /oauth/token``."""

    def __init__(self, clients: Mapping[str, Client]) -> None:
        self._clients = dict(clients)
        # An unknown client id is checked against a hash too, so the time taken does not say
        # which ids exist.
        self._dummy = hash_secret("no such client")
        self._one_at_a_time = asyncio.Semaphore(1)  # bounds memory: 64 MiB per verification

    def __bool__(self) -> bool:
        return bool(self._clients)

    def get(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    async def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The client when ``secret`` is its secret; None otherwise (unknown ids included)."""
        client = self._clients.get(client_id)
        stored = client.secret_hash if client else self._dummy
        async with self._one_at_a_time:
            ok = await asyncio.to_thread(_matches, stored, secret)
        return client if ok and client is not None else None


def _matches(stored: str, secret: str) -> bool:
    try:
        return _HASHER.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
