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

from collections.abc import Sequence
from typing import Any, Protocol

from processor.core.decision import state_id
from schemas.session import ConversationRecord, SessionState

__all__ = [
    "CONVERSATION_COLUMNS",
    "DECIDED_COLUMNS",
    "SESSION_COLUMNS",
    "UPDATED_ON_SAVE",
    "VIEW_COLUMNS",
    "Row",
    "column_list",
    "conversation_from_row",
    "conversation_row",
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
# The columns of ``session_conversations`` a conversation's record holds (the table also has
# ``persistent_session_id``, the session it belongs to).
CONVERSATION_COLUMNS: tuple[str, ...] = tuple(ConversationRecord.model_fields)
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
    """The values of :data:`SESSION_COLUMNS` for a session, in that order (each column is the
    model's field of that name; a status is a ``StrEnum``, stored as its text)."""
    return tuple(getattr(s, c) for c in SESSION_COLUMNS)


def session_from_row(
    r: Row, conversations: Sequence[ConversationRecord]
) -> SessionState:
    """A session from its row and its conversations (``session_conversations``, in order)."""
    return SessionState(
        id=state_id(r["persistent_session_id"], r["version"]),
        conversations=list(conversations),
        **{c: r[c] for c in SESSION_COLUMNS},
    )


def conversation_row(c: ConversationRecord) -> tuple[Any, ...]:
    """The values of :data:`CONVERSATION_COLUMNS` for a conversation, in that order."""
    return tuple(getattr(c, f) for f in CONVERSATION_COLUMNS)


def conversation_from_row(r: Row) -> ConversationRecord:
    """One ``session_conversations`` row (its columns are :class:`ConversationRecord`'s fields,
    plus the session it belongs to)."""
    return ConversationRecord(**{c: r[c] for c in CONVERSATION_COLUMNS})
