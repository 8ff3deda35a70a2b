"""What a returning customer is told: the rules of resumption across an expiry, pure.

A session that expired (or was archived) cannot be resumed in Genesys: its conversation may no
longer be routable. The customer gets a new session (``previousSessionId`` points back), and
until that session has a state snapshot of its own, its context *carries its predecessor*: the
predecessor's latest snapshot, the conversation id the new conversation is tagged with, and the
seed's notice for the agent. Both the API and the Genesys bridge's write-back use
:func:`resume_notice`, so the agent reads the same words whichever way it reached them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

__all__ = ["RESUME_NOTICE", "CustomerState", "carries_predecessor", "customer_state",
           "resume_notice"]

RESUME_NOTICE = "Resuming from archived session ID: {conversation_id}"


def resume_notice(conversation_id: uuid.UUID | str) -> str:
    """The seed's words for the agent: "Resuming from archived session ID: <old-id>"."""
    return RESUME_NOTICE.format(conversation_id=conversation_id)


class CustomerState(StrEnum):
    """``GET /v1/customers/context``'s answer, as what the page should do."""

    LIVE = "live"  # resume the session (and its live conversation, if any)
    RENEWED = "renewed"  # the session renews an expired one whose context it still carries
    NONE = "none"  # no session to resume: issue one (POST /v1/sessions)


def carries_predecessor(
    previous_session_id: uuid.UUID | None, own_snapshot_at: datetime | None
) -> bool:
    """A renewal carries its predecessor's context until it has a snapshot of its own: before
    that, the predecessor's is the freshest account of "where were we?"."""
    return previous_session_id is not None and own_snapshot_at is None


def customer_state(found: bool, resumable: bool, carrying: bool) -> CustomerState:
    """The customer's latest session decides: resumable and carrying its predecessor is a
    renewal, resumable otherwise is live; none, or one that lapsed or was closed, is none."""
    if not found or not resumable:
        return CustomerState.NONE
    return CustomerState.RENEWED if carrying else CustomerState.LIVE
