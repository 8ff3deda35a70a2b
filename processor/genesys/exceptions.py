"""Errors of the Genesys client; messages never carry a token, a secret or a response body
(a body can hold participant data)."""

from __future__ import annotations

from processor.errors import ChatstateError

__all__ = ["GenesysAuthError", "GenesysError", "GenesysHTTPError"]


class GenesysError(ChatstateError):
    """Genesys could not be reached or refused a request after the retries allowed."""


class GenesysAuthError(GenesysError):
    """The OAuth client was refused (wrong id/secret, or the grant is not allowed)."""


class GenesysHTTPError(GenesysError):
    def __init__(self, method: str, path: str, status: int) -> None:
        super().__init__(f"Genesys answered {status} to {method} {path}")
        self.method, self.path, self.status = method, path, status
