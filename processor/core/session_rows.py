"""The ``sessions`` table's row shape, in one place (issue 18).

The worker loads and saves whole rows, the API reads a few columns of them, and the lifecycle
asks whether a decision changed anything a row holds. Each used to list the columns itself; a
column added to one list and forgotten in another would have been saved but never loaded, or
changed without a new version. This module is pure (no driver): it names the columns and maps
a row (anything indexed by column name, e.g. an ``asyncpg.Record``) to and from
:class:`SessionState`. The SQL that uses it stays with its shell.

The worker's test oracle (``tests/integration/worker/harness.py``) keeps its own list on
purpose: it checks this one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from processor.core.decision import state_id
from schemas.observation import ConversationState
from schemas.session import ConversationRecord, SessionState, SessionStatus

__all__ = [
    "DECIDED_COLUMNS",
    "SESSION_COLUMNS",
    "UPDATED_ON_SAVE",
    "VIEW_COLUMNS",
    "Row",
    "column_list",
    "conversation_from_row",
    "session_from_row",
    "session_row",
]

# Every column of ``sessions``, in the order :func:`session_row` gives the values.
SESSION_COLUMNS: tuple[str, ...] = (
    "persistent_session_id",
    "status",
    "version",
    "customer_id_hashed",
    "previous_session_id",
    "current_conversation_id",
    "resumed_from_conversation_id",
    "latest_snapshot",
    "latest_snapshot_at",
    "latest_snapshot_content_id",
    "last_interaction_at",
    "expires_at",
    "created_at",
    "updated_at",
)
# Set once when the row is created: an upsert never changes them.
_FIXED = ("persistent_session_id", "previous_session_id", "created_at")
# Follow from a change rather than being one.
_BOOKKEEPING = ("version", "updated_at")
# What an upsert of a saved session overwrites.
UPDATED_ON_SAVE: tuple[str, ...] = tuple(c for c in SESSION_COLUMNS if c not in _FIXED)
# What a decision can change: a difference in one of them is a new version of the row.
DECIDED_COLUMNS: tuple[str, ...] = tuple(c for c in UPDATED_ON_SAVE if c not in _BOOKKEEPING)
# What the API's session view reads (GET /v1/sessions/..., the customer context).
VIEW_COLUMNS: tuple[str, ...] = (
    "persistent_session_id",
    "status",
    "previous_session_id",
    "current_conversation_id",
    "latest_snapshot",
    "latest_snapshot_at",
    "last_interaction_at",
    "expires_at",
)


class Row(Protocol):
    """A row by column name: a dict, an ``asyncpg.Record`` (not a ``Mapping`` to mypy)."""

    def __getitem__(self, key: str, /) -> Any: ...


def column_list(columns: Sequence[str], alias: str | None = None) -> str:
    """``"a, b"`` or, with an alias, ``"s.a, s.b"`` for a SELECT or an INSERT."""
    return ", ".join(f"{alias}.{c}" if alias else c for c in columns)


def session_row(s: SessionState) -> tuple[Any, ...]:
    """The values of :data:`SESSION_COLUMNS` for a session, in that order."""
    return (
        s.persistent_session_id,
        s.status.value,
        s.version,
        s.customer_id_hashed,
        s.previous_session_id,
        s.current_conversation_id,
        s.resumed_from_conversation_id,
        s.latest_snapshot,
        s.latest_snapshot_at,
        s.latest_snapshot_content_id,
        s.last_interaction_at,
        s.expires_at,
        s.created_at,
        s.updated_at,
    )


def session_from_row(
    r: Row, conversations: Sequence[ConversationRecord]
) -> SessionState:
    """A session from its row and its conversations (``session_conversations``, in order)."""
    psid: uuid.UUID = r["persistent_session_id"]
    return SessionState(
        id=state_id(psid, r["version"]),
        persistent_session_id=psid,
        status=SessionStatus(r["status"]),
        version=r["version"],
        customer_id_hashed=r["customer_id_hashed"],
        previous_session_id=r["previous_session_id"],
        current_conversation_id=r["current_conversation_id"],
        resumed_from_conversation_id=r["resumed_from_conversation_id"],
        conversations=list(conversations),
        latest_snapshot=r["latest_snapshot"],
        latest_snapshot_at=r["latest_snapshot_at"],
        latest_snapshot_content_id=r["latest_snapshot_content_id"],
        last_interaction_at=r["last_interaction_at"],
        expires_at=r["expires_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def conversation_from_row(r: Row) -> ConversationRecord:
    """One ``session_conversations`` row."""
    return ConversationRecord(
        conversation_id=r["conversation_id"],
        state=ConversationState(r["state"]),
        media_type=r["media_type"],
        queue_id=r["queue_id"],
        started_at=r["started_at"],
        ended_at=r["ended_at"],
        disconnect_type=r["disconnect_type"],
        resumed_from_conversation_id=r["resumed_from_conversation_id"],
        concurrent_with=r["concurrent_with"],
        first_seen_at=r["first_seen_at"],
        updated_at=r["updated_at"],
    )
