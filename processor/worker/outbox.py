"""The outbox's rows: what a transaction will publish once it commits.

Stage 2's unit of work and the leader's rounds write the records they mean to publish
(``chat.sessions``, ``chat.alerts``, the agent-context topic, tombstones) here, in their own
transaction; ``processor/worker/publish.py`` produces them after the commit and the storage
port deletes them once Kafka acknowledged them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from processor.db import Conn
from processor.errors import OutputTooLarge

__all__ = ["OutboxRecord", "enqueue"]


@dataclass(frozen=True)
class OutboxRecord:
    outbox_id: int
    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone (an erased or purged session on chat.sessions)
    # When the row was written (the database's clock); known for rows read back by the
    # sweeper, which looks for them on their topic from about then (``sweep.py``).
    created_at: datetime | None = None


async def enqueue(
    conn: Conn,
    records: Sequence[tuple[str, bytes | None, bytes | None]],  # value None: a tombstone
    max_bytes: int | None = None,
) -> list[OutboxRecord]:
    """Put records in the outbox inside the caller's transaction (published after commit).
    A record over ``max_bytes`` raises :class:`OutputTooLarge` before anything is written: a
    committed record the broker refuses would be re-sent forever."""
    if not records:
        return []
    if max_bytes is not None:
        for topic, key, value in records:
            size = len(key or b"") + len(value or b"")
            if size > max_bytes:
                raise OutputTooLarge(topic, size, max_bytes)
    rows = await conn.fetch(
        """INSERT INTO outbox (topic, key, value)
           SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) RETURNING outbox_id""",
        [r[0] for r in records],
        [r[1] for r in records],
        [r[2] for r in records],
    )
    return [OutboxRecord(r["outbox_id"], *rec) for r, rec in zip(rows, records, strict=True)]
