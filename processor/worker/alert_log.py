"""The alert log: each condition is told once when it starts and once when it ends.

Rows are keyed by ``Alert.log_key`` (the dedup key, plus ``#resolved`` for an end). Recording
one status forgets the other, so a condition that ended and comes back fires again, and one
that fires again can be resolved again. :func:`ended_conditions` finds what the log says is
firing but the tables say is over (orphaned and unmapped conversations).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from processor.core.alert_status import resolved
from processor.db import Conn
from schemas.alerts import Alert, AlertStatus, AlertType

__all__ = ["ended_conditions", "record_alerts"]

_LIMIT = 5000  # resolutions per scan round: the rest follow in the next rounds


async def record_alerts(conn: Conn, alerts: Sequence[Alert]) -> list[Alert]:
    """Record alerts by condition and status; return those not told before (page once)."""
    if not alerts:
        return []
    by_key: dict[str, Alert] = {}
    for a in alerts:
        by_key.setdefault(a.log_key, a)
    rows = await conn.fetch(
        """INSERT INTO alert_log (dedup_key, alert_type, subject, first_at, last_at)
           SELECT k, t, s, d, d FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
                AS x(k, t, s, d)
           ON CONFLICT (dedup_key) DO UPDATE SET occurrences = alert_log.occurrences + 1,
                last_at = GREATEST(alert_log.last_at, EXCLUDED.last_at)
           RETURNING dedup_key, (xmax = 0) AS inserted""",
        list(by_key),
        [a.type.value for a in by_key.values()],
        [a.subject for a in by_key.values()],
        [a.detected_at for a in by_key.values()],
    )
    new = [by_key[r["dedup_key"]] for r in rows if r["inserted"]]
    other = [
        a.model_copy(update={"status": AlertStatus.RESOLVED}).log_key
        if a.status is AlertStatus.FIRING else a.dedup_key
        for a in new
    ]
    if other:
        await conn.execute("DELETE FROM alert_log WHERE dedup_key = ANY($1::text[])", other)
    return new


# Firing per-conversation alerts (aggregates have no conversation id in their key) whose
# condition the tables no longer show.
_ENDED = """
SELECT a.dedup_key, a.alert_type, split_part(a.dedup_key, ':', 2)::uuid AS conversation_id,
       c.persistent_session_id, c.state
FROM alert_log a
LEFT JOIN session_conversations c
       ON c.conversation_id = split_part(a.dedup_key, ':', 2)::uuid
WHERE a.dedup_key ~ '^(orphaned|unmapped)_conversation:[0-9a-f-]{36}$'
  AND CASE a.alert_type
        WHEN 'orphaned_conversation' THEN
             c.conversation_id IS NULL OR c.state <> 'live'
             OR EXISTS (SELECT 1 FROM snapshots s
                        WHERE s.persistent_session_id = c.persistent_session_id
                          AND s.conversation_id = c.conversation_id)
        ELSE c.conversation_id IS NOT NULL
             OR NOT EXISTS (SELECT 1 FROM unmapped_conversations u
                            WHERE u.conversation_id = split_part(a.dedup_key, ':', 2)::uuid)
      END
LIMIT $1
"""


async def ended_conditions(conn: Conn, now: datetime) -> list[Alert]:
    """Resolved alerts for firing orphaned/unmapped conditions that are over."""
    out = []
    for r in await conn.fetch(_ENDED, _LIMIT):
        kind = AlertType(r["alert_type"])
        if kind is AlertType.ORPHANED_CONVERSATION:
            why = ("a snapshot was persisted" if r["state"] == "live"
                   else "the conversation ended" if r["state"] else "the session was removed")
        else:
            why = "its session became known" if r["state"] else "forgotten after retention"
        out.append(resolved(kind, r["dedup_key"], now, why,
                            persistent_session_id=r["persistent_session_id"],
                            conversation_id=r["conversation_id"]))
    return out
