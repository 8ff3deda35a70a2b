"""The API's errors: each maps to one HTTP answer in ``error_handlers.py``."""

from __future__ import annotations

from processor.errors import ChatstateError

__all__ = [
    "ApiError",
    "Forbidden",
    "KafkaUnavailable",
    "MissingToken",
    "NotFound",
    "RateLimited",
    "Unauthorized",
]


class ApiError(ChatstateError):
    """Root of the errors the API turns into HTTP answers."""


class KafkaUnavailable(ApiError):
    """Kafka did not acknowledge a write in time: the caller must retry (503 + Retry-After)."""


class NotFound(ApiError):
    """No such session *for this caller*: unknown id and foreign id look the same (404)."""


class Unauthorized(ApiError):
    """Missing, malformed, tampered or expired bearer token (401)."""


class MissingToken(Unauthorized):
    """No bearer token at all: 401 with a bare challenge (RFC 6750 section 3.1: no error code)."""


class Forbidden(ApiError):
    """A valid token without the scope the route needs (403 insufficient_scope)."""

    def __init__(self, scope: str) -> None:
        super().__init__(f"this route needs the scope {scope!r}, which the token lacks")
        self.scope = scope


class RateLimited(ApiError):
    """Too many requests from this caller (or for this customer): 429 + Retry-After."""

    def __init__(self, what: str, retry_after_s: int) -> None:
        super().__init__(f"too many requests {what}; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s
