"""The leader's retention and alert-resolution rounds (called from ``processor.worker.timers``).

- Purge: archived sessions quiet for ``RETENTION + PURGE_AFTER`` get a ``purge_session`` on
  their partition; the lifecycle re-checks there (a customer who came back is kept) and the
  sink deletes the rows and tombstones ``chat.sessions`` (``processor.worker.removal``). The
  alert log's rows older than the same horizon go too (they name ids of purged sessions).
- Resolutions: firing orphaned/unmapped conditions that are over are told ``resolved``.
- Expiry spikes: one alert when a round expires more sessions than the threshold.
"""

from __future__ import annotations

from datetime import datetime

from processor.core.alert_status import cap_resolutions, expiry_spike
from processor.core.removal import purge_update
from processor.worker.alert_log import ended_conditions, record_alerts
from processor.worker.outbox import enqueue
from processor.worker.runtime import Runtime

__all__ = ["purge_round", "resolve_round", "spike_round"]

_LIMIT = 5000


async def purge_round(rt: Runtime, now: datetime) -> int:
    horizon = now - rt.settings.retention - rt.settings.purge_after
    rows = await rt.pool.fetch(
        """SELECT persistent_session_id FROM sessions
           WHERE status = 'archived' AND coalesce(last_interaction_at, created_at) <= $1
           ORDER BY coalesce(last_interaction_at, created_at) LIMIT $2""",
        horizon,
        _LIMIT,
    )
    await rt.produce_updates([purge_update(r["persistent_session_id"], now) for r in rows])
    await rt.pool.execute("DELETE FROM alert_log WHERE last_at < $1", horizon)
    return len(rows)


async def resolve_round(rt: Runtime, now: datetime) -> int:
    """Tell the conditions that ended, capped per type and round like their start was; all of
    them are recorded in the transaction that queues the told ones (a crash repeats nothing)."""
    topic = rt.catalog.name("chat.alerts")
    async with rt.pool.acquire() as conn:
        ended = await ended_conditions(conn, now)
        if not ended:
            return 0
        told, covered = cap_resolutions(ended, rt.settings.scan_alerts_max_per_round, now)
        async with conn.transaction():
            new = {a.log_key for a in await record_alerts(conn, [*told, *covered])}
            records = await enqueue(
                conn,
                [(topic, a.subject.encode(), a.to_json_bytes()) for a in told if a.log_key in new],
            )
    await rt.publish(records, wait_for_database=False)
    return len(ended)


async def spike_round(rt: Runtime, expired: int, now: datetime) -> int:
    spike = expiry_spike(expired, rt.settings.expiry_spike_threshold, now)
    await rt.emit_alerts(spike)
    return len(spike)
