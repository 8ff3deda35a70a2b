"""The project's root exception; each area derives its own so callers can decide by kind."""

from __future__ import annotations

__all__ = ["ChatstateError", "ConfigError", "OutputTooLarge", "StackError"]


class ChatstateError(Exception):
    """Root of every error chatstate raises on purpose."""


class ConfigError(ChatstateError):
    """The effective configuration cannot work (a missing server, a bad value)."""


class StackError(ChatstateError):
    """The local development stack could not be started, reached or stopped."""


class OutputTooLarge(ChatstateError):
    """A record chatstate would publish exceeds the record size cap (``max_record_bytes``):
    raised inside the transaction that would have enqueued it, so nothing is committed and the
    update that caused it is dead-lettered instead of a producer retrying it forever."""

    def __init__(self, topic: str, size: int, limit: int) -> None:
        super().__init__(f"a record for {topic} would be {size} bytes (cap {limit})")
