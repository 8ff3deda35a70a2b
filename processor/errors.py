"""The project's root exception; each area derives its own so callers can decide by kind."""

from __future__ import annotations

__all__ = ["ChatstateError", "ConfigError", "StackError"]


class ChatstateError(Exception):
    """Root of every error chatstate raises on purpose."""


class ConfigError(ChatstateError):
    """The effective configuration cannot work (a missing server, a bad value)."""


class StackError(ChatstateError):
    """The local development stack could not be started, reached or stopped."""
