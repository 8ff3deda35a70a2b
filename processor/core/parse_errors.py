"""The two ways the Genesys readers stop reading a record, shared by their modules.

:class:`Reject` is a verdict (the record is dead-lettered with its reason); :class:`Malformed`
is the fast reader giving up on something it does not expect, so the wire models decide instead.
Neither escapes :func:`processor.core.normalise.inspect_genesys`.
"""

from __future__ import annotations

from schemas.dlq import DeadLetterReason

__all__ = ["INVALID", "Malformed", "Reject"]

INVALID = DeadLetterReason.INVALID_ENVELOPE


class Reject(Exception):
    """Becomes a :class:`schemas.observation.Rejected`; never leaves the normaliser."""

    def __init__(self, reason: DeadLetterReason, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Malformed(Exception):
    """The fast reader met something it does not expect: let the wire models decide."""
