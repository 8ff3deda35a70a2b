"""The API's errors: each maps to one HTTP answer in ``handlers.py``."""

from __future__ import annotations

from processor.errors import ChatstateError

__all__ = ["ApiError", "KafkaUnavailable", "NotFound", "Unauthorized"]


class ApiError(ChatstateError):
    """Root of the errors the API turns into HTTP answers."""


class KafkaUnavailable(ApiError):
    """Kafka did not acknowledge a write in time: the caller must retry (503 + Retry-After)."""


class NotFound(ApiError):
    """No such session *for this caller*: unknown id and foreign id look the same (404)."""


class Unauthorized(ApiError):
    """Missing, malformed, tampered or expired bearer token (401)."""
