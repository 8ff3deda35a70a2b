"""OAuth 2.0 client credentials (RFC 6749 section 4.4): every caller's way to a bearer token.

The web back end (scope ``sessions``) and Genesys data actions (scope ``snapshots``) post
``grant_type``, ``client_id`` and ``client_secret`` as a form, or the id and secret as HTTP
Basic; both work. Secrets are checked against their Argon2id hashes (``clients.py``); unknown
ids take as long as known ones. Each client id may ask ``CHATSTATE_API_TOKEN_RATE_PER_MIN``
times a minute (burst ``CHATSTATE_API_TOKEN_BURST``) per process; unknown ids share one bucket,
so spraying made-up ids buys no extra Argon2 work. A token lasts ``CHATSTATE_TOKEN_TTL_S``: a
caller asks again when it expires, not per request.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from processor.api.deps import ApiState, api_state
from processor.api.models import TokenOut

__all__ = ["router"]

router = APIRouter(tags=["auth"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_UNKNOWN_CLIENTS = "\0unknown"  # the one rate-limit bucket of every id not configured

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


def _oauth_error(status: int, code: str, description: str, *, basic: bool = False,
                 retry_after_s: int = 0) -> JSONResponse:
    headers = dict(_NO_STORE)
    if basic:
        headers["WWW-Authenticate"] = 'Basic realm="chatstate"'
    if retry_after_s:
        headers["Retry-After"] = str(retry_after_s)
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
    responses={400: {"description": "invalid_request / unsupported_grant_type / invalid_scope"},
               401: {"description": "invalid_client"},
               429: {"description": "rate_limited: too many token requests for this client "
                     "(Retry-After)."}},
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
    bucket = client_id if state.clients.get(client_id) else _UNKNOWN_CLIENTS
    wait = state.token_requests.take(bucket, time.monotonic())
    if wait:
        return _oauth_error(429, "rate_limited", f"too many token requests for this client; "
                            f"retry after {wait} s", retry_after_s=wait)
    client = await state.clients.authenticate(client_id, secret) if client_id else None
    if client is None:
        state.metrics.token_failures.inc()
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret",
                            basic=basic is not None)
    scopes = client.scopes
    if "scope" in form:  # RFC 6749 section 3.3: a caller may ask for less than it may have
        asked = frozenset(form["scope"].split())
        if not asked or not asked <= client.scopes:
            return _oauth_error(400, "invalid_scope", "the scope asked for is not granted to "
                                "this client")
        scopes = asked
    access, claims = state.signer.issue(client.client_id, sorted(scopes), int(time.time()))
    body = TokenOut(access_token=access, expires_in=claims.exp - claims.iat)
    # RFC 6749 section 5.1: ``scope`` says what was granted (the token's claims say it too).
    return JSONResponse({**body.model_dump(), "scope": " ".join(sorted(scopes))},
                        headers=_NO_STORE)
