"""The leader's timer shell: one round of expiry, archive, orphans, unmapped conversations
(alerted, released, expired after their retention), retention and the outbox sweep.

The rules of each round are pure (``processor/core/scans.py``: what to propose, which alerts,
how many per round); this module runs them against the storage port and produces what they
propose. ``processor/worker/app.py``'s Faust timer calls :func:`run_scans` on the leader."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from processor.core.route import unpark
from processor.core.scans import (
    archive_update,
    cap_alerts,
    expire_update,
    orphan_alert,
    unmapped_alert,
)
from processor.logs import get_logger
from processor.worker.retention import purge_round, resolve_round, spike_round
from processor.worker.runtime import Runtime
from schemas.alerts import Alert

__all__ = ["run_scans"]

log = get_logger("chatstate.scans")
_LIMIT = 5000
_EXPIRE_LIMIT = 50_000  # rows forgotten per round: a flood's backlog clears in a few rounds


async def run_scans(rt: Runtime) -> dict[str, int]:
    """One pass of every scan. Each is idempotent: running it twice, or on two workers during
    a leader change, only repeats commands the lifecycle ignores and alerts the log dedupes."""
    await rt.start()
    started = time.perf_counter()
    now = datetime.now(UTC)
    expired = await _expiry(rt, now)
    counts = {
        "expire": expired,
        "expiry_spike": await spike_round(rt, expired, now),
        "archive": await _archive(rt, now),
        "orphaned": await _orphans(rt, now),
        "unmapped": await _unmapped(rt, now),
        "released": await _release_parked(rt),
        "expired_unmapped": await _expire_unmapped(rt, now),
        "purge": await purge_round(rt, now),
        "resolved": await resolve_round(rt, now),
        "outbox": await rt.sweep_outbox(),
    }
    rt.metrics.scan_seconds.observe(time.perf_counter() - started)
    for scan, n in counts.items():
        rt.metrics.scan_items.labels(scan).inc(n)
    if any(counts.values()):
        log.info("scans", **counts)
    return counts


async def _expiry(rt: Runtime, now: datetime) -> int:
    due = await rt.storage.due_to_expire(now, _LIMIT)
    await rt.produce_updates([expire_update(psid, now) for psid in due])
    return len(due)


async def _archive(rt: Runtime, now: datetime) -> int:
    due = await rt.storage.due_to_archive(now - rt.settings.retention, _LIMIT)
    await rt.produce_updates([archive_update(psid, now) for psid in due])
    return len(due)


async def _orphans(rt: Runtime, now: datetime) -> int:
    grace = rt.settings.orphan_grace
    rows = await rt.storage.orphans(now - grace, _LIMIT)
    await _emit_capped(
        rt,
        [
            orphan_alert(r.conversation_id, r.persistent_session_id, r.first_seen_at, now, grace)
            for r in rows
        ],
        now,
    )
    return len(rows)


async def _unmapped(rt: Runtime, now: datetime) -> int:
    rows = await rt.storage.unmapped(now - rt.settings.orphan_grace, _LIMIT)
    await _emit_capped(
        rt,
        [
            unmapped_alert(r.conversation_id, r.first_seen_at, r.observations, r.dropped, now)
            for r in rows
        ],
        now,
    )
    return len(rows)


async def _emit_capped(rt: Runtime, alerts: Sequence[Alert], now: datetime) -> None:
    """A round's per-conversation alerts up to the cap, then one aggregate (``cap_alerts``).
    All of them are recorded in the alert log in the transaction that queues the published
    ones, so a covered conversation never pages later and a crash repeats nothing."""
    if not alerts:
        return
    capped = cap_alerts(alerts, rt.settings.scan_alerts_max_per_round, now)
    told = [*capped.shown, *([capped.aggregate] if capped.aggregate else [])]
    records = await rt.storage.record_alerts(told, also_known=capped.covered)
    if capped.aggregate is not None:
        rt.metrics.scan_alerts_aggregated.labels(capped.aggregate.type.value).inc(
            len(capped.covered)
        )
    await rt.publish(records, wait_for_database=False)


async def _release_parked(rt: Runtime) -> int:
    """Parked observations whose conversation is now mapped (a snapshot named it) go to the
    session's partition; produced first, deleted after, so a crash repeats, never loses."""
    rows = await rt.storage.releasable(_LIMIT)
    for r in rows:
        await rt.produce_updates(unpark(r.parked, r.persistent_session_id))
        await rt.storage.released(r.conversation_id, r.last_seen_at)
    return len(rows)


async def _expire_unmapped(rt: Runtime, now: datetime) -> int:
    """The age bound of parking: conversations unmapped for longer than the retention."""
    expired = await rt.storage.expire_unmapped(
        now - rt.settings.unmapped_retention, _EXPIRE_LIMIT
    )
    rt.metrics.unmapped_expired.inc(expired)
    return expired
