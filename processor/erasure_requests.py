"""Asking for a customer's erasure: the audit row, the deny list, and the commands.

The API (``POST /v1/erasures``) and the CLI (``chatstate customer erase``) both start an erasure
here; the worker carries it out session by session, each through its own partition
(``processor.worker.removal``), so an erasure cannot race an update of the same session.

The audit row holds when, by whom and how many rows — never the customer hash. The deny list
holds digests (``processor.core.removal``): the customer's from the moment of the request (a
late event from before it cannot start a session again), each session's once it is erased.
Asking twice is harmless: the second request finds what is left (perhaps nothing) and completes
at once; the worker marks a session erased in every request that named it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from processor.core.removal import customer_digest, session_digest
from processor.db import Conn
from schemas.commands import EraseSession, SessionCommand

__all__ = ["Erasure", "ErasureStarted", "erase_commands", "erasure", "start_erasure"]


@dataclass(frozen=True)
class ErasureStarted:
    erasure_id: uuid.UUID
    sessions: list[uuid.UUID]  # to send an EraseSession each; never stored as such


@dataclass(frozen=True)
class Erasure:
    erasure_id: uuid.UUID
    status: str  # pending | completed
    requested_at: datetime
    requested_by: str
    completed_at: datetime | None
    sessions: int
    sessions_erased: int
    rows_deleted: int


_SESSIONS_OF = """
SELECT persistent_session_id FROM sessions WHERE customer_id_hashed = $1
UNION
SELECT persistent_session_id FROM issued_sessions WHERE customer_id_hashed = $1
ORDER BY 1
"""


async def start_erasure(
    conn: Conn, customer_id_hashed: str, requested_by: str, now: datetime
) -> ErasureStarted:
    """Record the request and deny the customer hash; the caller then sends
    :func:`erase_commands` (the request stays pending until the worker applied them all)."""
    erasure_id = uuid.uuid4()
    async with conn.transaction():
        psids = [r[0] for r in await conn.fetch(_SESSIONS_OF, customer_id_hashed)]
        await conn.execute(
            """INSERT INTO erasures (erasure_id, requested_at, requested_by, sessions,
                                     completed_at)
               VALUES ($1, $2::timestamptz, $3, $4::int,
                       CASE WHEN $4::int = 0 THEN $2::timestamptz END)""",
            erasure_id, now, requested_by, len(psids),
        )
        await conn.executemany(
            "INSERT INTO erasure_sessions (erasure_id, session_digest) VALUES ($1, $2)",
            [(erasure_id, session_digest(p)) for p in psids],
        )
        await conn.execute(
            """INSERT INTO erased_ids (digest, kind, erased_at, erasure_id)
               VALUES ($1, 'customer', $2, $3)
               ON CONFLICT (digest) DO UPDATE
               SET erased_at = GREATEST(erased_ids.erased_at, EXCLUDED.erased_at),
                   erasure_id = EXCLUDED.erasure_id""",
            customer_digest(customer_id_hashed), now, erasure_id,
        )
    return ErasureStarted(erasure_id, psids)


def erase_commands(started: ErasureStarted, now: datetime) -> list[tuple[bytes, bytes]]:
    """(key, value) records for ``chat.session-commands``: one per session, on its partition."""
    return [
        (
            str(psid).encode(),
            SessionCommand(
                persistent_session_id=psid, issued_at=now,
                command=EraseSession(erasure_id=started.erasure_id),
            ).to_json_bytes(),
        )
        for psid in started.sessions
    ]


async def erasure(pool: asyncpg.Pool | Conn, erasure_id: uuid.UUID) -> Erasure | None:
    row = await pool.fetchrow(
        """SELECT erasure_id, requested_at, requested_by, completed_at, sessions,
                  sessions_erased, rows_deleted FROM erasures WHERE erasure_id = $1""",
        erasure_id,
    )
    if row is None:
        return None
    return Erasure(
        erasure_id=row["erasure_id"],
        status="completed" if row["completed_at"] is not None else "pending",
        requested_at=row["requested_at"], requested_by=row["requested_by"],
        completed_at=row["completed_at"], sessions=row["sessions"],
        sessions_erased=row["sessions_erased"], rows_deleted=row["rows_deleted"],
    )
