"""Routes that answer without FastAPI's per-request machinery: the two hot paths.

``POST /v1/chat-state/persist`` (every data action call) and ``GET .../context`` (every returning
customer) are FastAPI routes for routing, tags, the response model and the OpenAPI document, but
their endpoints take the ``Request`` and return a ``Response`` themselves. FastAPI's generic
dependency solving, parameter validation, response re-validation and serialisation cost about
as much CPU as everything else these routes do (py-spy under wrk; ``benchmarks/api_bench.py``:
persist 954 -> 702, context 935 -> 812 microseconds of API CPU per request when this came
in, before the other savings of the same day). The contract does not move: bodies and
parameters are validated by the same pydantic models, errors take the same path to the same
``{"error", "message", "detail"}`` answers, and what FastAPI can no longer read from a signature
(parameters, request body) is declared here, next to the parsing it describes. The bearer token
and scope are checked before any of it, by the route class ``guard.protected`` wraps around.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "DirectRoute",
    "json_body",
    "json_body_openapi",
    "json_response",
    "path_uuid",
]

M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class DirectRoute(APIRoute):
    """An ``APIRoute`` whose endpoint is ``async (Request) -> Response``, called as it is."""

    def get_route_handler(self) -> Endpoint:
        endpoint: Endpoint = self.endpoint
        return endpoint


def json_response(model: BaseModel, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    """The model as JSON by its aliases, serialised once (pydantic's Rust core)."""
    return Response(model.model_dump_json(by_alias=True), status, headers,
                    media_type="application/json")


def _errors(exc: ValidationError, *where: str) -> list[dict[str, Any]]:
    """pydantic's errors located as FastAPI locates them (``body.field``), without the input."""
    return [{**e, "loc": (*where, *e["loc"])}
            for e in exc.errors(include_url=False, include_input=False, include_context=False)]


_UUID = TypeAdapter(uuid.UUID)  # what FastAPI validates a ``uuid.UUID`` path parameter with


def path_uuid(request: Request, name: str) -> uuid.UUID:
    try:
        return _UUID.validate_python(request.path_params[name])
    except ValidationError as exc:
        raise RequestValidationError(_errors(exc, "path", name)) from None


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json"))


async def json_body(request: Request, model: type[M]) -> M:
    """The body validated by ``model`` straight from its bytes; a 422 naming the fields (never
    their values) otherwise. Like FastAPI: JSON only when the Content-Type says so."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"loc": ("body",), "type": "missing", "msg": "Field required"}])
    if not _is_json(request.headers.get("content-type")):
        raise RequestValidationError([{
            "loc": ("body",), "type": "content_type",
            "msg": "the body must be JSON, sent as Content-Type: application/json"}])
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(_errors(exc, "body")) from None


def json_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """The ``requestBody`` of an operation whose body is ``model`` (its schema is added to the
    document's components by ``app.py``)."""
    return {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
