"""The SQL of a session's tables: ``sessions``, ``session_conversations`` and ``snapshots``.

Load and save whole sessions inside the caller's transaction. Which columns a row has and how
a row maps to a :class:`SessionState` is the row shape's (``processor/core/session_rows.py``);
this module only says how to read and write them with asyncpg.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from processor.core.decision import SnapshotRow
from processor.core.session_rows import (
    SESSION_COLUMNS,
    UPDATED_ON_SAVE,
    column_list,
    conversation_from_row,
    session_from_row,
    session_row,
)
from processor.db import Conn
from schemas.session import ConversationRecord, SessionState

__all__ = ["load_sessions", "save_conversations", "save_sessions", "save_snapshots"]

_SESSION_COLS = column_list(SESSION_COLUMNS)
_SAVE = (
    f"INSERT INTO sessions ({_SESSION_COLS}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(SESSION_COLUMNS) + 1))}) "
    "ON CONFLICT (persistent_session_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED_ON_SAVE)
)


async def load_sessions(
    conn: Conn, psids: Sequence[uuid.UUID], *, lock: bool = False
) -> dict[uuid.UUID, SessionState]:
    rows = await conn.fetch(
        f"SELECT {_SESSION_COLS} FROM sessions WHERE persistent_session_id = ANY($1::uuid[])"
        + (" ORDER BY persistent_session_id FOR UPDATE" if lock else ""),
        list(psids),
    )
    if not rows:
        return {}
    convs: dict[uuid.UUID, list[ConversationRecord]] = {}
    for r in await conn.fetch(
        "SELECT * FROM session_conversations WHERE persistent_session_id = ANY($1::uuid[]) "
        "ORDER BY first_seen_at, conversation_id",
        list(psids),
    ):
        convs.setdefault(r["persistent_session_id"], []).append(conversation_from_row(r))
    return {
        r["persistent_session_id"]: session_from_row(r, convs.get(r["persistent_session_id"], []))
        for r in rows
    }


async def save_sessions(conn: Conn, sessions: Sequence[SessionState]) -> None:
    if not sessions:
        return
    await conn.executemany(_SAVE, [session_row(s) for s in sessions])


async def save_conversations(
    conn: Conn, recs: Sequence[tuple[uuid.UUID, ConversationRecord]]
) -> None:
    if not recs:
        return
    await conn.executemany(
        """INSERT INTO session_conversations (conversation_id, persistent_session_id, state,
              media_type, queue_id, started_at, ended_at, disconnect_type,
              resumed_from_conversation_id, concurrent_with, first_seen_at, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
           ON CONFLICT (conversation_id) DO UPDATE SET
              state = EXCLUDED.state, media_type = EXCLUDED.media_type,
              queue_id = EXCLUDED.queue_id, started_at = EXCLUDED.started_at,
              ended_at = EXCLUDED.ended_at, disconnect_type = EXCLUDED.disconnect_type,
              resumed_from_conversation_id = EXCLUDED.resumed_from_conversation_id,
              concurrent_with = EXCLUDED.concurrent_with, updated_at = EXCLUDED.updated_at
           WHERE session_conversations.persistent_session_id = EXCLUDED.persistent_session_id""",
        [
            (
                c.conversation_id,
                psid,
                c.state.value,
                c.media_type,
                c.queue_id,
                c.started_at,
                c.ended_at,
                c.disconnect_type,
                c.resumed_from_conversation_id,
                c.concurrent_with,
                c.first_seen_at,
                c.updated_at,
            )
            for psid, c in recs
        ],
    )


async def save_snapshots(conn: Conn, rows: Sequence[SnapshotRow]) -> None:
    if not rows:
        return
    await conn.executemany(
        """INSERT INTO snapshots (persistent_session_id, conversation_id, snapshot_at,
              received_at, source_id, state, custom_properties, pii_findings)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (source_id) DO NOTHING""",
        [
            (
                r.persistent_session_id,
                r.conversation_id,
                r.snapshot_at,
                r.received_at,
                r.source_id,
                r.state,
                r.custom_properties,
                r.pii_findings,
            )
            for r in rows
        ],
    )
