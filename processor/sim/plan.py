"""What the simulator decided about each session, before any record is built.

The plan is the single source both for the records (``scenarios``) and for the expected outcome
(``expected``): deriving both from one plan is what lets a test trust the expectation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["ConversationPlan", "SessionPlan", "SnapshotPlan", "Topic"]


class Topic(StrEnum):
    """Logical input topics (``topics.yaml`` names, before any prefix)."""

    GENESYS = "genesys.conversations"
    SNAPSHOTS = "chat.snapshots"
    COMMANDS = "chat.session-commands"


@dataclass
class SnapshotPlan:
    sim_id: str  # unique per snapshot: lets a checker find each one in the database
    conversation_id: uuid.UUID
    at: datetime
    intent: str
    steps: int
    body: dict[str, object]  # the data action's body as posted
    retried: bool = False  # the flow posted the same body twice


@dataclass
class ConversationPlan:
    conversation_id: uuid.UUID
    legacy: bool  # legacy web chat v2 (``context.`` attributes, ``chats``) vs Web Messaging
    queue_id: uuid.UUID
    start: datetime
    ends: bool  # False: still live when the simulation stops
    end: datetime | None = None
    disconnect_type: str | None = None
    transfers: int = 0
    data_action: bool = True  # False: the flow never posts a snapshot (a future orphan)
    tab: int = 1  # 2: the second tab of a session (a concurrent conversation)


@dataclass
class SessionPlan:
    index: int
    persistent_session_id: uuid.UUID
    customer_id_hashed: str
    kind: str  # messaging, legacy, transfer, two_tabs, orphan, returning
    conversations: list[ConversationPlan] = field(default_factory=list)
    snapshots: list[SnapshotPlan] = field(default_factory=list)
    closed: bool = False
    pii_in_attributes: bool = False
