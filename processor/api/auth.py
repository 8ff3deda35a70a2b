"""OAuth 2.0 client credentials (RFC 6749 section 4.4) for the data actions that post snapshots.

Genesys integration credentials of type "OAuth client credentials" post ``grant_type``,
``client_id`` and ``client_secret`` as a form, or the id and secret as HTTP Basic; both work.
Secrets are configured as SHA-256 hex (``CHATSTATE_OAUTH_CLIENTS``), so a leaked settings dump
does not leak a credential, and are compared in constant time, unknown clients included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from processor.api.deps import ApiState, api_state
from processor.api.models import TokenOut

__all__ = ["BEARER_SCHEME", "BEARER_SCHEME_OPENAPI", "check_client", "router"]

router = APIRouter(tags=["auth"])
# How protected routes declare the token in the OpenAPI document (direct.py reads it).
BEARER_SCHEME = "HTTPBearer"
BEARER_SCHEME_OPENAPI = {"type": "http", "scheme": "bearer",
                         "description": "POST /oauth/token, then Bearer <token>."}
_DUMMY_HASH = hashlib.sha256(b"no such client").hexdigest()
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    }
}


def check_client(clients: Mapping[str, str], client_id: str, secret: str) -> bool:
    """True when ``secret`` hashes to the configured hash of ``client_id``; constant time."""
    want = clients.get(client_id, _DUMMY_HASH).lower()
    got = hashlib.sha256(secret.encode()).hexdigest()
    return hmac.compare_digest(want, got) and client_id in clients


def _oauth_error(status: int, code: str, description: str, *, basic: bool = False) -> JSONResponse:
    headers = dict(_NO_STORE)
    if basic:
        headers["WWW-Authenticate"] = 'Basic realm="chatstate"'
    return JSONResponse(
        {"error": code, "error_description": description}, status_code=status, headers=headers
    )


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (client_id, secret) if sep else None


@router.post(
    "/oauth/token",
    response_model=TokenOut,
    summary="Exchange client credentials for a short-lived bearer token",
    openapi_extra=_TOKEN_FORM,
    responses={400: {"description": "invalid_request / unsupported_grant_type"},
               401: {"description": "invalid_client"}},
)
async def token(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> JSONResponse:
    # The form is parsed by hand: python-multipart (FastAPI's Form) is not worth a dependency
    # for three urlencoded fields.
    try:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    except UnicodeDecodeError:
        return _oauth_error(400, "invalid_request", "the body must be a urlencoded form")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    basic = _basic(request.headers.get("authorization"))
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    if not client_id or not check_client(state.settings.oauth_clients, client_id, secret):
        state.metrics.token_failures.inc()
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret",
                            basic=basic is not None)
    access, claims = state.signer.issue(client_id, int(time.time()))
    body = TokenOut(access_token=access, expires_in=claims.exp - claims.iat)
    return JSONResponse(body.model_dump(), headers=_NO_STORE)
