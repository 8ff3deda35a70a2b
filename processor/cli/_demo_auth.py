"""The local demo's API credentials: ``chatstate run`` makes them when none are configured.

``chatstate api`` refuses to start without a signing key, and answers 401 to everything without
a client; a newcomer's ``make run`` should still give a working API and a curl flow that works.
So, only for what ``chatstate run`` starts: a fresh random signing key and one demo client with
both scopes, whose secret is printed once to the terminal (nowhere else) for README's flow.
Configured values are never replaced.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

__all__ = ["DEMO_CLIENT_ID", "demo_api_auth"]

DEMO_CLIENT_ID = "demo-backend"


def demo_api_auth(environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(environment additions, lines to show the user) for what ``environ`` lacks."""
    from processor.api.clients import hash_secret

    added: dict[str, str] = {}
    said: list[str] = []
    if not environ.get("CHATSTATE_TOKEN_SIGNING_KEY"):
        added["CHATSTATE_TOKEN_SIGNING_KEY"] = secrets.token_hex(32)
        said.append("API: a throwaway token signing key for this run (tokens die with it)")
    if not environ.get("CHATSTATE_OAUTH_CLIENTS"):
        secret = secrets.token_urlsafe(24)
        added["CHATSTATE_OAUTH_CLIENTS"] = json.dumps({DEMO_CLIENT_ID: {
            "secret_hash": hash_secret(secret), "scopes": ["sessions", "snapshots"]}})
        said.append(f"API demo client (scopes sessions, snapshots), for README's curl flow:\n"
                    f"  export CLIENT_ID={DEMO_CLIENT_ID} CLIENT_SECRET={secret}")
    return added, said
