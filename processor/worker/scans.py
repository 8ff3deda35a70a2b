"""The leader's timers: expiry, archive, orphans, unmapped conversations, the outbox sweep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from processor.core.scans import archive_update, expire_update, orphan_alert, unmapped_alert
from processor.logs import get_logger
from processor.worker.route import Parked, unpark
from processor.worker.runtime import Runtime

__all__ = ["run_scans"]

log = get_logger("chatstate.scans")
_LIMIT = 5000


async def run_scans(rt: Runtime) -> dict[str, int]:
    """One pass of every scan. Each is idempotent: running it twice, or on two workers during
    a leader change, only repeats commands the lifecycle ignores and alerts the log dedupes."""
    await rt.start()
    now = datetime.now(UTC)
    counts = {
        "expire": await _expiry(rt, now),
        "archive": await _archive(rt, now),
        "orphaned": await _orphans(rt, now),
        "unmapped": await _unmapped(rt, now),
        "released": await _release_parked(rt),
        "outbox": await rt.sweep_outbox(),
    }
    if any(counts.values()):
        log.info("scans", **counts)
    return counts


async def _expiry(rt: Runtime, now: datetime) -> int:
    rows = await rt.pool.fetch(
        "SELECT persistent_session_id FROM sessions WHERE status IN ('active', 'idle') "
        "AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        now,
        _LIMIT,
    )
    await rt.produce_updates([expire_update(r["persistent_session_id"], now) for r in rows])
    return len(rows)


async def _archive(rt: Runtime, now: datetime) -> int:
    rows = await rt.pool.fetch(
        "SELECT persistent_session_id FROM sessions WHERE status IN ('idle', 'expired') "
        "AND coalesce(last_interaction_at, created_at) <= $1 LIMIT $2",
        now - rt.settings.retention,
        _LIMIT,
    )
    await rt.produce_updates([archive_update(r["persistent_session_id"], now) for r in rows])
    return len(rows)


async def _orphans(rt: Runtime, now: datetime) -> int:
    grace = rt.settings.orphan_grace
    rows = await rt.pool.fetch(
        """SELECT c.conversation_id, c.persistent_session_id, c.first_seen_at
           FROM session_conversations c
           WHERE c.state = 'live' AND c.first_seen_at <= $1
             AND NOT EXISTS (SELECT 1 FROM snapshots s
                             WHERE s.persistent_session_id = c.persistent_session_id
                               AND s.conversation_id = c.conversation_id)
             AND NOT EXISTS (SELECT 1 FROM alert_log a
                             WHERE a.dedup_key = 'orphaned_conversation:' || c.conversation_id)
           LIMIT $2""",
        now - grace,
        _LIMIT,
    )
    await rt.emit_alerts(
        [
            orphan_alert(
                r["conversation_id"], r["persistent_session_id"], r["first_seen_at"], now, grace
            )
            for r in rows
        ]
    )
    return len(rows)


async def _unmapped(rt: Runtime, now: datetime) -> int:
    rows = await rt.pool.fetch(
        """SELECT u.conversation_id, u.first_seen_at, jsonb_array_length(u.observations) AS n,
                  u.dropped
           FROM unmapped_conversations u
           WHERE u.first_seen_at <= $1
             AND NOT EXISTS (SELECT 1 FROM session_conversations c
                             WHERE c.conversation_id = u.conversation_id)
             AND NOT EXISTS (SELECT 1 FROM alert_log a
                             WHERE a.dedup_key = 'unmapped_conversation:' || u.conversation_id)
           LIMIT $2""",
        now - rt.settings.orphan_grace,
        _LIMIT,
    )
    await rt.emit_alerts(
        [
            unmapped_alert(r["conversation_id"], r["first_seen_at"], r["n"], r["dropped"], now)
            for r in rows
        ]
    )
    return len(rows)


async def _release_parked(rt: Runtime) -> int:
    """Parked observations whose conversation is now mapped (a snapshot named it) go to the
    session's partition; produced first, deleted after, so a crash repeats, never loses."""
    rows = await rt.pool.fetch(
        """SELECT u.conversation_id, c.persistent_session_id, u.observations, u.last_seen_at
           FROM unmapped_conversations u JOIN session_conversations c USING (conversation_id)
           LIMIT $1""",
        _LIMIT,
    )
    for r in rows:
        psid: uuid.UUID = r["persistent_session_id"]
        await rt.produce_updates(unpark([Parked.from_json(o) for o in r["observations"]], psid))
        await rt.pool.execute(
            "DELETE FROM unmapped_conversations WHERE conversation_id = $1 AND last_seen_at = $2",
            r["conversation_id"],
            r["last_seen_at"],
        )
    return len(rows)
