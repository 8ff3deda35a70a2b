"""Who may call a route: the bearer token and the scope, checked before anything else.

Every ``/v1`` route is built with a route class from ``protected(scope)``: its handler checks
the token and the scope first, then hands the request to the route's own handler (FastAPI's, or
a ``DirectRoute``'s). So a request without a valid token gets 401 before its path, query or body
is read or validated: an unauthenticated caller learns nothing about what a valid request
looks like, and spends no CPU on parsing. A FastAPI dependency would not do: FastAPI reads and
decodes the body before it solves dependencies.

The check is cheap on purpose (the persist and context hot paths): a verified token is
remembered (``TokenSigner``), then two set lookups say whether its client is still configured
and has the scope. The token's scopes are intersected with the client's current ones, so taking
a scope away (and restarting the API) takes it from the tokens already issued.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from processor.api.deps import state_of
from processor.api.exceptions import Forbidden, MissingToken, Unauthorized
from processor.api.models import ErrorBody
from processor.api.tokens import Claims

__all__ = [
    "BEARER_SCHEME",
    "BEARER_SCHEME_OPENAPI",
    "CLIENT_KEY",
    "authorise",
    "bearer_token",
    "protected",
]

# How protected routes declare the token in the OpenAPI document.
BEARER_SCHEME = "clientCredentials"
BEARER_SCHEME_OPENAPI: dict[str, Any] = {
    "type": "oauth2",
    "description": "POST /oauth/token (client credentials), then Authorization: Bearer <token>.",
    "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {
        "sessions": "issue sessions, read their context, close them (the web back end)",
        "snapshots": "post state snapshots (Genesys data actions)",
        "erasure": "forget a customer (privacy tooling)",
    }}},
}
CLIENT_KEY = "chatstate.client"  # the ASGI scope key the authorised client id is left under

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No token, or an invalid, expired or revoked one "
          "(WWW-Authenticate: Bearer)."},
    403: {"model": ErrorBody, "description": "The token lacks this route's scope."},
}


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>``, as FastAPI's ``HTTPBearer`` reads it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise MissingToken("a bearer token is required: POST /oauth/token first")
    return token


def authorise(request: Request, scope: str) -> Claims:
    """The token's claims when it is valid, its client still configured and both grant
    ``scope``; ``Unauthorized`` (401) or ``Forbidden`` (403) otherwise."""
    state = state_of(request)
    claims = state.signer.verify(bearer_token(request), int(time.time()))
    client = state.clients.get(claims.sub)
    if client is None:
        raise Unauthorized("the token's client is no longer configured")
    if scope not in claims.scopes or scope not in client.scopes:
        raise Forbidden(scope)
    request.scope[CLIENT_KEY] = claims.sub
    return claims


@functools.cache
def protected(scope: str, base: type[APIRoute] = APIRoute) -> type[APIRoute]:
    """A route class (for ``route_class``/``route_class_override``) whose routes need a bearer
    token with ``scope``, checked before the route's own handler runs; the OpenAPI document
    says so (security, 401, 403)."""

    class Protected(base):  # type: ignore[misc,valid-type]
        def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
            kwargs["responses"] = {**_AUTH_RESPONSES, **(kwargs.get("responses") or {})}
            kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}),
                                       "security": [{BEARER_SCHEME: [scope]}]}
            super().__init__(path, endpoint, **kwargs)

        def get_route_handler(self) -> Handler:
            inner: Handler = super().get_route_handler()

            async def handler(request: Request) -> Response:
                authorise(request, scope)
                return await inner(request)

            return handler

    Protected.__name__ = Protected.__qualname__ = f"Protected_{scope}_{base.__name__}"
    return Protected
