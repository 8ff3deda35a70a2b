"""Errors to HTTP answers, one shape for all: ``{"error", "message", "detail": [{loc, msg,
type}]}``. Validation errors list where and why, never the offending value (it may be PII)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from processor.api.deps import state_of
from processor.api.exceptions import (
    Forbidden,
    KafkaUnavailable,
    MissingToken,
    NotFound,
    RateLimited,
    Unauthorized,
)
from processor.logs import get_logger

__all__ = ["install"]

log = get_logger("chatstate.api")
RETRY_AFTER_S = 2


def _body(error: str, message: str, detail: list[dict[str, str]] | None = None
          ) -> dict[str, object]:
    return {"error": error, "message": message, "detail": detail or []}


def _loc(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in parts)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": _loc(tuple(e.get("loc", ()))), "msg": str(e.get("msg", "")).removeprefix(
            "Value error, "), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return JSONResponse(_body("invalid_request", "the request is not valid", detail), 422)


_REALM = 'Bearer realm="chatstate"'


async def _unauthorized(_: Request, exc: Exception) -> JSONResponse:
    # RFC 6750 section 3: no token at all gets the bare challenge; a bad one says why. The
    # reason (expired, bad signature...) is safe and helps whoever configures the caller.
    if isinstance(exc, MissingToken):
        return JSONResponse(_body("missing_token", str(exc)), 401,
                            headers={"WWW-Authenticate": _REALM})
    return JSONResponse(
        _body("invalid_token", str(exc)), 401,
        headers={"WWW-Authenticate":
                 f'{_REALM}, error="invalid_token", error_description="{exc}"'},
    )


async def _forbidden(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    return JSONResponse(
        _body("insufficient_scope", str(exc)), 403,
        headers={"WWW-Authenticate": f'{_REALM}, error="insufficient_scope", '
                 f'scope="{exc.scope}"'},
    )


async def _rate_limited(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return JSONResponse(_body("rate_limited", str(exc)), 429,
                        headers={"Retry-After": str(exc.retry_after_s)})


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(_body("not_found", "no such session"), 404,
                        headers={"Cache-Control": "no-store"})


async def _kafka_unavailable(request: Request, exc: Exception) -> JSONResponse:
    state = state_of(request)
    state.metrics.produce_errors.labels(getattr(request.scope.get("route"), "path", "?")).inc()
    log.warning("produce_failed", reason=str(exc), cause=type(exc.__cause__).__name__)
    return JSONResponse(
        _body("unavailable", "Kafka did not acknowledge the write; nothing was accepted, retry"),
        503, headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(KafkaUnavailable, _kafka_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http)
