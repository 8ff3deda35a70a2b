"""What ``chatstate session list`` reads and prints: recent sessions, so on-call and a newcomer
can find an id to ``session show``. Ids, statuses and times only; the customer hash is cut to
its first 12 characters on the screen (enough to tell customers apart, and it is a hash)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processor.db import Conn

__all__ = ["SessionLine", "format_line", "recent_sessions"]


@dataclass(frozen=True)
class SessionLine:
    persistent_session_id: uuid.UUID
    status: str
    version: int
    customer_id_hashed: str | None
    current_conversation_id: uuid.UUID | None
    conversations: int
    last_interaction_at: datetime | None
    expires_at: datetime | None
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "persistentSessionId": str(self.persistent_session_id),
            "status": self.status,
            "version": self.version,
            "customerIdHashed": self.customer_id_hashed,
            "currentConversationId": str(self.current_conversation_id)
            if self.current_conversation_id else None,
            "conversationCount": self.conversations,
            "lastInteractionAt": _iso(self.last_interaction_at),
            "expiresAt": _iso(self.expires_at),
            "updatedAt": _iso(self.updated_at),
        }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


# Most recently changed first. With a customer the index sessions_by_customer answers; without,
# a scan of sessions keeps the top N (a tool for people, not a hot path: no index on updated_at
# is paid by every write for it).
_RECENT = """
SELECT s.persistent_session_id, s.status, s.version, s.customer_id_hashed,
       s.current_conversation_id,
       (SELECT count(*) FROM session_conversations c
        WHERE c.persistent_session_id = s.persistent_session_id) AS conversations,
       s.last_interaction_at, s.expires_at, s.updated_at
FROM sessions s
WHERE ($1::text IS NULL OR s.status = $1) AND ($2::text IS NULL OR s.customer_id_hashed = $2)
ORDER BY s.updated_at DESC, s.persistent_session_id
LIMIT $3
"""


async def recent_sessions(
    conn: Conn, status: str | None, customer: str | None, limit: int
) -> list[SessionLine]:
    return [SessionLine(*r) for r in await conn.fetch(_RECENT, status, customer, limit)]


def format_line(s: SessionLine) -> str:
    customer = (s.customer_id_hashed or "-")[:12]
    last = f"{s.last_interaction_at:%Y-%m-%d %H:%M:%S}" if s.last_interaction_at else "-"
    return (f"{s.updated_at:%Y-%m-%d %H:%M:%S}  {s.persistent_session_id}  {s.status:8}  "
            f"v{s.version:<4} conv={s.conversations:<4} customer={customer:12}  last={last}")
