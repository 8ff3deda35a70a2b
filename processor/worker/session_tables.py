"""The SQL of a session's tables: ``sessions``, ``session_conversations`` and ``snapshots``.

Load and save whole sessions inside the caller's transaction. Which columns a row has and how
a row maps to a :class:`SessionState` is the row shape's (``processor/core/session_rows.py``);
this module only says how to read and write them with asyncpg.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from typing import Any

from processor.core.decision import SnapshotRow
from processor.core.session_rows import (
    CONVERSATION_COLUMNS,
    SESSION_COLUMNS,
    UPDATED_ON_SAVE,
    column_list,
    conversation_from_row,
    conversation_row,
    session_from_row,
    session_row,
)
from processor.db import Conn
from schemas.session import ConversationRecord, SessionState

__all__ = ["load_sessions", "save_changes"]

_SESSION_COLS = column_list(SESSION_COLUMNS)
# Each saved column's type, for the arrays a batch is sent as (jsonb goes as text, cast back:
# asyncpg would read a JSON list inside a jsonb[] as one more dimension of the array).
_SESSION_TYPES = {
    "persistent_session_id": "uuid",
    "status": "text",
    "version": "bigint",
    "customer_id_hashed": "text",
    "previous_session_id": "uuid",
    "current_conversation_id": "uuid",
    "resumed_from_conversation_id": "uuid",
    "latest_snapshot": "jsonb",
    "latest_snapshot_at": "timestamptz",
    "latest_snapshot_content_id": "text",
    "last_interaction_at": "timestamptz",
    "expires_at": "timestamptz",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}


def _unnest(columns: dict[str, str], start: int) -> str:
    """``SELECT a, b::jsonb FROM unnest($1::uuid[], $2::text[]) AS x(a, b)``: one statement
    for a batch of rows, where ``executemany`` runs the statement once per row (measured with
    ``benchmarks/apply_bench.py``: the backend's CPU per update falls by a third)."""
    select = ", ".join(f"{c}::jsonb" if t == "jsonb" else c for c, t in columns.items())
    arrays = ", ".join(
        f"${i}::{'text' if t == 'jsonb' else t}[]" for i, t in enumerate(columns.values(), start)
    )
    return f"SELECT {select} FROM unnest({arrays}) AS x({', '.join(columns)})"


def _json(value: object) -> str | None:
    """A jsonb value as the pool's codec writes it (``processor.db.init_connection``)."""
    return None if value is None else json.dumps(value)


# One row shape (processor/core/session_rows.py).
assert tuple(_SESSION_TYPES) == SESSION_COLUMNS


def _save_sessions(start: int) -> str:
    return (
        f"INSERT INTO sessions ({_SESSION_COLS}) {_unnest(_SESSION_TYPES, start)} "
        "ON CONFLICT (persistent_session_id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED_ON_SAVE)
    )


_CONVERSATION_TYPES = {
    "persistent_session_id": "uuid",  # the session; then ConversationRecord's fields
    "conversation_id": "uuid",
    "state": "text",
    "media_type": "text",
    "queue_id": "text",
    "started_at": "timestamptz",
    "ended_at": "timestamptz",
    "disconnect_type": "text",
    "resumed_from_conversation_id": "uuid",
    "concurrent_with": "uuid",
    "first_seen_at": "timestamptz",
    "updated_at": "timestamptz",
}


assert tuple(_CONVERSATION_TYPES)[1:] == CONVERSATION_COLUMNS


def _save_conversations(start: int) -> str:
    """A conversation already mapped to another session keeps its row."""
    return f"""INSERT INTO session_conversations ({", ".join(_CONVERSATION_TYPES)})
    {_unnest(_CONVERSATION_TYPES, start)}
    ON CONFLICT (conversation_id) DO UPDATE SET
       state = EXCLUDED.state, media_type = EXCLUDED.media_type,
       queue_id = EXCLUDED.queue_id, started_at = EXCLUDED.started_at,
       ended_at = EXCLUDED.ended_at, disconnect_type = EXCLUDED.disconnect_type,
       resumed_from_conversation_id = EXCLUDED.resumed_from_conversation_id,
       concurrent_with = EXCLUDED.concurrent_with, updated_at = EXCLUDED.updated_at
    WHERE session_conversations.persistent_session_id = EXCLUDED.persistent_session_id"""


_SNAPSHOT_TYPES = {
    "persistent_session_id": "uuid",
    "conversation_id": "uuid",
    "snapshot_at": "timestamptz",
    "received_at": "timestamptz",
    "source_id": "text",
    "state": "jsonb",
    "custom_properties": "jsonb",
    "pii_findings": "jsonb",
}


def _save_snapshots(start: int) -> str:
    """A snapshot already stored (the same source id) is skipped."""
    return f"""INSERT INTO snapshots ({", ".join(_SNAPSHOT_TYPES)})
    {_unnest(_SNAPSHOT_TYPES, start)} ON CONFLICT (source_id) DO NOTHING"""


_TABLES = (
    (_save_sessions, len(_SESSION_TYPES)),
    (_save_conversations, len(_CONVERSATION_TYPES)),
    (_save_snapshots, len(_SNAPSHOT_TYPES)),
)


@functools.cache
def _save(parts: tuple[bool, bool, bool]) -> str:
    """One statement for the tables ``parts`` names (sessions, conversations, snapshots), each
    an INSERT in a WITH: the foreign keys to ``sessions`` are checked at the statement's end,
    after a new session's row is in."""
    inserts, start = [], 1
    for (sql, width), wanted in zip(_TABLES, parts, strict=True):
        if wanted:
            inserts.append(sql(start))
            start += width
    if len(inserts) == 1:
        return inserts[0]
    return "WITH " + ", ".join(f"t{i} AS ({q})" for i, q in enumerate(inserts)) + " SELECT 1"


# A session's conversations come with its row, in the same statement, as an array of
# anonymous records (built-in types only: nothing for asyncpg to introspect, no cache to go
# stale when a migration changes the table), in the order the lifecycle keeps them.
_LOAD = f"""SELECT {_SESSION_COLS},
    ARRAY(SELECT ROW({", ".join(f"c.{c}" for c in _CONVERSATION_TYPES)})
          FROM session_conversations c
          WHERE c.persistent_session_id = sessions.persistent_session_id
          ORDER BY c.first_seen_at, c.conversation_id) AS conversations
    FROM sessions WHERE persistent_session_id = ANY($1::uuid[])"""
_LOAD_LOCKED = _LOAD + " ORDER BY persistent_session_id FOR UPDATE"


async def load_sessions(
    conn: Conn, psids: Sequence[uuid.UUID], *, lock: bool = False
) -> dict[uuid.UUID, SessionState]:
    """Sessions by id with their conversations (one statement); ``lock`` holds their rows
    until the transaction ends."""
    rows = await conn.fetch(_LOAD_LOCKED if lock else _LOAD, list(psids))
    return {
        r["persistent_session_id"]: session_from_row(
            r,
            [
                conversation_from_row(dict(zip(_CONVERSATION_TYPES, c, strict=True)))
                for c in r["conversations"]
            ],
        )
        for r in rows
    }


async def save_changes(
    conn: Conn,
    sessions: Sequence[SessionState],
    conversations: Sequence[tuple[uuid.UUID, ConversationRecord]],
    snapshots: Sequence[SnapshotRow],
) -> None:
    """Upsert whole session rows and conversation rows, append snapshot history: one statement
    for all three (none when there is nothing to save). Each session and each conversation at
    most once (a second row for one key in one upsert is an error)."""
    parts = (bool(sessions), bool(conversations), bool(snapshots))
    if not any(parts):
        return
    args: list[list[Any]] = []
    if sessions:
        args += _arrays(_SESSION_TYPES, [session_row(s) for s in sessions])
    if conversations:
        args += _arrays(_CONVERSATION_TYPES,
                        [(psid, *conversation_row(c)) for psid, c in conversations])
    if snapshots:
        args += _arrays(_SNAPSHOT_TYPES,
                        [tuple(getattr(r, c) for c in _SNAPSHOT_TYPES) for r in snapshots])
    await conn.execute(_save(parts), *args)


def _arrays(types: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """The rows as one array per column, in ``types``' order, jsonb columns as their text."""
    return [
        [_json(v) for v in column] if t == "jsonb" else list(column)
        for column, t in zip(zip(*rows, strict=True), types.values(), strict=True)
    ]

