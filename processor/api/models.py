"""The API's own request and response bodies (camelCase on the wire, like every contract).

The snapshot body itself is ``schemas.snapshot.SnapshotIn``: the data action and the topic share
one contract, so the API cannot drift from what the processor reads.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from schemas.base import WireModel
from schemas.session import SessionStatus
from schemas.snapshot import SHA256_HEX

__all__ = [
    "CloseAccepted",
    "ConversationOut",
    "CustomerContext",
    "ErasureAccepted",
    "ErasureIn",
    "ErasureOut",
    "ErrorBody",
    "ErrorDetail",
    "IssueSessionIn",
    "IssuedSession",
    "PredecessorOut",
    "SessionContext",
    "SnapshotAccepted",
    "TokenOut",
]

CUSTOMER_HASH_MESSAGE = (
    "customerIdHashed must be the SHA-256 hex digest of the customer id "
    "(64 characters, 0-9 and a-f, lower case); hash the id before sending it"
)


class _CustomerHashIn(WireModel):
    customer_id_hashed: str = Field(
        # For the published schema only: ECMA-262's ``$`` (JSON Schema's dialect) matches at
        # the very end, unlike Python's, which also matches before a trailing newline; the
        # validator below is what decides, with \A...\Z.
        json_schema_extra={"pattern": "^[0-9a-f]{64}$", "minLength": 64, "maxLength": 64},
        description="SHA-256 hex of the customer id. Never send the raw id.",
    )

    @field_validator("customer_id_hashed", mode="before")
    @classmethod
    def _sha256_hex(cls, v: Any) -> str:
        # A custom message: pydantic's default would quote the pattern, ours says what to do.
        # A trailing newline is refused here (it passed, then failed the database's CHECK).
        if not isinstance(v, str) or not SHA256_HEX.fullmatch(v):
            raise ValueError(CUSTOMER_HASH_MESSAGE)
        return v


class IssueSessionIn(_CustomerHashIn):
    pass


class ErasureIn(_CustomerHashIn):
    """Erase every session of this customer (the hash, as it was issued with)."""


class PredecessorOut(WireModel):
    """The expired session a renewal continues, until the renewal has a snapshot of its own."""

    persistent_session_id: uuid.UUID
    resume_from_conversation_id: uuid.UUID | None = Field(
        default=None, description="Tag the new Genesys conversation with this old id."
    )
    notice: str | None = Field(
        default=None, description='For the agent: "Resuming from archived session ID: <id>".'
    )
    latest_snapshot: dict[str, Any] | None = None
    latest_snapshot_at: datetime | None = None


class IssuedSession(WireModel):
    persistent_session_id: uuid.UUID
    status: SessionStatus
    created: bool = Field(description="true: issued now (201); false: the live one (200).")
    previous_session_id: uuid.UUID | None = None
    issued_at: datetime
    expires_at: datetime | None = None
    resume_from_conversation_id: uuid.UUID | None = Field(
        default=None, description="A renewal: tag the new conversation with this old id."
    )
    notice: str | None = None
    predecessor: PredecessorOut | None = Field(
        default=None,
        description="A renewal without a snapshot of its own: the expired session it continues.",
    )


class ConversationOut(WireModel):
    conversation_id: uuid.UUID
    state: str
    media_type: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    disconnect_type: str | None = None
    resumed_from_conversation_id: uuid.UUID | None = None


class SessionContext(WireModel):
    """The seed's ``getChatContext``: everything a returning customer's page needs at once."""

    persistent_session_id: uuid.UUID
    status: SessionStatus
    resumable: bool
    conversation_id: uuid.UUID | None = Field(
        default=None, description="The conversation to resume (resumable sessions only)."
    )
    resume_from_conversation_id: uuid.UUID | None = Field(
        default=None,
        description="Expired/archived: tag the new conversation with this old conversation id.",
    )
    notice: str | None = None
    previous_session_id: uuid.UUID | None = None
    latest_snapshot: dict[str, Any] | None = None
    latest_snapshot_at: datetime | None = None
    last_interaction_at: datetime | None = None
    expires_at: datetime | None = None
    conversations: list[ConversationOut] = Field(
        default_factory=list, description="The latest conversations (at most 50), oldest first."
    )
    conversation_count: int = Field(default=0, description="All the session's conversations.")
    live_conversation_ids: list[uuid.UUID] = Field(
        default_factory=list,
        description="Conversations of the session live in Genesys right now. Not empty on a "
        "page that starts a chat: another tab or device has one open; tell the customer.",
    )
    predecessor: PredecessorOut | None = Field(
        default=None,
        description="A renewal without a snapshot of its own: the expired session it continues "
        "(its latest snapshot, the conversation to tag, the notice).",
    )


class CustomerContext(WireModel):
    """The seed's ``getChatContext(userId)``: what the page should do, and the context for it."""

    state: Literal["live", "renewed", "none"] = Field(
        description="live: resume session; renewed: resume session, which carries its expired "
        "predecessor; none: no session to resume, issue one (POST /v1/sessions)."
    )
    persistent_session_id: uuid.UUID | None = None
    session: SessionContext | None = None
    predecessor: PredecessorOut | None = Field(
        default=None,
        description="renewed, or none after an expiry: the expired session to resume from.",
    )


class SnapshotAccepted(WireModel):
    accepted: Literal[True] = True
    content_id: str
    pii_redacted: list[str] = Field(
        default_factory=list, description="Paths whose PII was redacted before it was stored."
    )


class CloseAccepted(WireModel):
    accepted: Literal[True] = True
    command_id: uuid.UUID


class ErasureAccepted(WireModel):
    accepted: Literal[True] = True
    erasure_id: uuid.UUID
    status: Literal["pending", "completed"]
    sessions: int = Field(description="Sessions to erase, each through its own partition.")


class ErasureOut(WireModel):
    """An erasure's audit row: when, by whom, how much. No customer data."""

    erasure_id: uuid.UUID
    status: Literal["pending", "completed"]
    requested_at: datetime
    requested_by: str
    completed_at: datetime | None = None
    sessions: int
    sessions_erased: int
    rows_deleted: int


class TokenOut(WireModel):
    # OAuth 2 names are snake_case on the wire (RFC 6749 section 5.1): no camelCase aliases.
    model_config = WireModel.model_config | {"alias_generator": None}

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class ErrorDetail(WireModel):
    loc: str = Field(description="Where: body.stateSnapshot.stepsCompleted, $.customProperties...")
    msg: str
    type: str


class ErrorBody(WireModel):
    """Every error answer: a stable code, a sentence, and where. Never the offending value."""

    error: str
    message: str
    detail: list[ErrorDetail] = Field(default_factory=list)
