"""Carrying out erasure and purge (``processor.core.removal`` decides them) in stage 2's
transaction, and the deny list that keeps an erased customer erased.

A removal deletes the session's rows — snapshots, conversations, parked events of its
conversations, its issued id, the session — and queues a tombstone (the key, no value) for the
compacted ``chat.sessions``, in the batch's transaction, so it is applied once and in order with
the session's other updates, and a crash re-sends the tombstone instead of losing it. An erasure
also deletes the alert log's and the unsent outbox's records about the session and its
conversations, puts the session's digest on the deny list, and counts the rows in every pending
erasure request that named the session (so a request asked twice completes either way).

Used by stage 2's unit of work (``processor/worker/unit_of_work.py``): :func:`deny_check` before
deciding (the unit of work asks its digests with its other look-ups), :func:`remove_sessions`
after.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from processor.core.removal import (
    Removal,
    RemovalKind,
    customer_digest,
    session_digest,
    update_customer,
)
from processor.db import Conn
from schemas.alerts import Alert
from schemas.commands import SessionUpdate

__all__ = ["DenyCheck", "Removed", "deny_check", "remove_sessions"]


@dataclass
class Removed:
    """What a batch's removals did: the sessions gone, and their tombstones to queue."""

    ids: set[uuid.UUID] = field(default_factory=set)
    tombstones: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    rows_deleted: int = 0

    def keep_alerts(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Alerts of this batch not about a removed session (they would carry its id)."""
        return [a for a in alerts if a.persistent_session_id not in self.ids]


@dataclass(frozen=True)
class DenyCheck:
    """The deny list's question for a batch (:func:`deny_check`): which digests to look up in
    ``erased_ids``, and what the rows found mean (:meth:`denied`). Split from the query so the
    unit of work can ask it in the same statement as its other look-ups."""

    by_digest: dict[str, uuid.UUID]  # session digest -> session
    named: list[tuple[str, uuid.UUID, datetime]]  # (customer digest, session, event time)

    @property
    def digests(self) -> list[str]:
        return list(self.by_digest) + [d for d, _, _ in self.named]

    def denied(self, rows: Iterable[tuple[str, str, datetime]]) -> set[uuid.UUID]:
        """Sessions refused, from the ``(digest, kind, erased_at)`` rows found."""
        denied: set[uuid.UUID] = set()
        erased_customers: dict[str, datetime] = {}
        for digest, kind, erased_at in rows:
            if kind == "session":
                denied.add(self.by_digest[digest])
            elif kind == "customer":
                erased_customers[digest] = erased_at
        if erased_customers:
            denied |= {
                psid for digest, psid, at in self.named
                if digest in erased_customers and at <= erased_customers[digest]
            }
        return denied


def deny_check(updates: Sequence[SessionUpdate]) -> DenyCheck:
    """What to look up to refuse erased sessions, and any whose update names an erased customer
    with an event from before the erasure (a late event, a replayed dead letter). A customer
    who comes back after the erasure starts afresh. Each session's digest is computed once."""
    by_digest = {session_digest(p): p for p in dict.fromkeys(u.persistent_session_id
                                                             for u in updates)}
    named: list[tuple[str, uuid.UUID, datetime]] = []
    digests: dict[str, str] = {}  # a session's updates mostly repeat its customer
    for u in updates:
        customer, at = update_customer(u)
        if customer is not None:
            digest = digests.get(customer)
            if digest is None:
                digest = digests[customer] = customer_digest(customer)
            named.append((digest, u.persistent_session_id, at))
    return DenyCheck(by_digest, named)


def _count(status: str) -> int:
    """Rows a DELETE touched, from asyncpg's command tag ("DELETE 3")."""
    return int(status.rsplit(" ", 1)[-1])


async def remove_sessions(
    conn: Conn, removals: Sequence[Removal], sessions_topic: str
) -> Removed:
    """Delete every row of each removed session (inside the caller's transaction)."""
    out = Removed()
    for r in removals:
        out.rows_deleted += await _remove(conn, r)
        out.ids.add(r.persistent_session_id)
        out.tombstones.append((sessions_topic, str(r.persistent_session_id).encode(), None))
    return out


async def _remove(conn: Conn, removal: Removal) -> int:
    psid = removal.persistent_session_id
    conversations = [
        r[0] for r in await conn.fetch(
            "SELECT conversation_id FROM session_conversations WHERE persistent_session_id = $1",
            psid,
        )
    ]
    n = _count(await conn.execute("DELETE FROM snapshots WHERE persistent_session_id = $1", psid))
    n += _count(await conn.execute(
        "DELETE FROM session_conversations WHERE persistent_session_id = $1", psid))
    if conversations:
        n += _count(await conn.execute(
            "DELETE FROM unmapped_conversations WHERE conversation_id = ANY($1::uuid[])",
            conversations))
    n += _count(await conn.execute(
        "DELETE FROM issued_sessions WHERE persistent_session_id = $1", psid))
    n += _count(await conn.execute("DELETE FROM sessions WHERE persistent_session_id = $1", psid))
    if removal.kind is RemovalKind.ERASED:
        n += await _forget_mentions(conn, [str(psid), *(str(c) for c in conversations)])
        await _deny_and_count(conn, removal, n)
    return n


async def _forget_mentions(conn: Conn, ids: Collection[str]) -> int:
    """Alert-log rows and unsent outbox records about the session or its conversations."""
    n = _count(await conn.execute(
        """DELETE FROM alert_log
           WHERE subject = ANY($1::text[])
              OR EXISTS (SELECT 1 FROM unnest($1::text[]) AS i(id)
                         WHERE strpos(dedup_key, id) > 0)""",
        list(ids),
    ))
    n += _count(await conn.execute(
        "DELETE FROM outbox WHERE key = ANY($1::bytea[])", [i.encode() for i in ids]))
    return n


async def _deny_and_count(conn: Conn, removal: Removal, rows: int) -> None:
    digest = session_digest(removal.persistent_session_id)
    await conn.execute(
        """INSERT INTO erased_ids (digest, kind, erased_at, erasure_id)
           VALUES ($1, 'session', clock_timestamp(), $2) ON CONFLICT (digest) DO NOTHING""",
        digest, removal.erasure_id,
    )
    await conn.execute(
        """WITH done AS (
               UPDATE erasure_sessions SET erased_at = clock_timestamp(),
                      rows_deleted = CASE WHEN erasure_id = $2 THEN $3 ELSE 0 END
               WHERE session_digest = $1 AND erased_at IS NULL
               RETURNING erasure_id, rows_deleted)
           UPDATE erasures e
           SET sessions_erased = e.sessions_erased + 1,
               rows_deleted = e.rows_deleted + done.rows_deleted,
               completed_at = CASE WHEN e.sessions_erased + 1 >= e.sessions
                                   THEN clock_timestamp() END
           FROM done WHERE e.erasure_id = done.erasure_id""",
        digest, removal.erasure_id, rows,
    )
