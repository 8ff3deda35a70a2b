"""Commands: what may change a session. All of them travel on the per-session topic, so the API,
the timers and Genesys events never race on one row.

- ``chat.session-commands`` carries :class:`SessionCommand` from the API and the timers;
- ``chatstate.session-updates`` (internal) carries :class:`SessionUpdate`: every change of every
  session, normalised by stage 1, in the order stage 2 must apply them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from schemas.base import Emitted, WireModel
from schemas.observation import ConversationObservation
from schemas.snapshot import SnapshotIn

__all__ = [
    "ApplySnapshot",
    "ArchiveSession",
    "CloseSession",
    "Command",
    "EraseSession",
    "ExpireSession",
    "ObserveConversation",
    "PiiFindingRef",
    "PurgeSession",
    "SessionCommand",
    "SessionIssued",
    "SessionUpdate",
]


class PiiFindingRef(WireModel):
    """Where PII was found and of what kind; never the value."""

    path: str
    kind: str


class ObserveConversation(WireModel):
    """Genesys told us something about one of the session's conversations."""

    type: Literal["observe_conversation"] = "observe_conversation"
    observation: ConversationObservation


class ApplySnapshot(WireModel):
    """A data action posted a state snapshot (already PII-redacted by stage 1 or the API)."""

    type: Literal["apply_snapshot"] = "apply_snapshot"
    snapshot: SnapshotIn
    content_id: str  # sha256 of the canonical snapshot: a retried post is a no-op
    pii_findings: list[PiiFindingRef] = Field(default_factory=list)


class CloseSession(WireModel):
    type: Literal["close_session"] = "close_session"
    reason: str = "requested"
    requested_by: str = "api"


class ExpireSession(WireModel):
    """From the expiry scan; the lifecycle re-checks, so a late timer cannot expire a session
    that saw an interaction after the scan looked."""

    type: Literal["expire_session"] = "expire_session"
    due_at: datetime


class ArchiveSession(WireModel):
    type: Literal["archive_session"] = "archive_session"
    due_at: datetime


class SessionIssued(WireModel):
    """The API issued this session (its row is written): the worker publishes it on
    ``chat.sessions`` through the session's partition, like every other change."""

    type: Literal["session_issued"] = "session_issued"
    customer_id_hashed: str = Field(pattern=r"^[0-9a-f]{64}$")
    previous_session_id: uuid.UUID | None = None
    issued_at: datetime
    expires_at: datetime | None = None


class EraseSession(WireModel):
    """Erase everything of the session (a customer's erasure request): rows deleted, a
    tombstone on ``chat.sessions``, the id on the deny list. Idempotent."""

    type: Literal["erase_session"] = "erase_session"
    erasure_id: uuid.UUID


class PurgeSession(WireModel):
    """From the retention scan: an archived session past the purge period is deleted (rows and
    a tombstone); the lifecycle re-checks, so a session that came back is kept."""

    type: Literal["purge_session"] = "purge_session"
    due_at: datetime


Command = Annotated[
    ObserveConversation
    | ApplySnapshot
    | CloseSession
    | ExpireSession
    | ArchiveSession
    | SessionIssued
    | EraseSession
    | PurgeSession,
    Field(discriminator="type"),
]


class SessionCommand(Emitted):
    """A command as the API or a timer writes it to ``chat.session-commands``."""

    persistent_session_id: uuid.UUID
    issued_at: datetime
    command: Command


class SessionUpdate(Emitted):
    """One change for stage 2. ``received_at`` is the time the lifecycle uses as *now*, so a
    replay of the same updates computes exactly the same sessions."""

    persistent_session_id: uuid.UUID
    source_id: str  # topic:partition:offset of the input record this came from
    received_at: datetime
    command: Command
