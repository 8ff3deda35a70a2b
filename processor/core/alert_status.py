"""Alerts on-call can live with (issue 17, item 4), pure: the end of a condition, and one alert
for an expiry spike instead of a page per session.

A condition that ends (an orphaned conversation got its snapshot or ended, an unmapped one got
mapped or was forgotten, the database came back) is told with the *same* ``dedupKey`` and
``status: resolved``, the way paging tools (PagerDuty's ``resolve``, Alertmanager's resolved
notifications) close what was opened. Routine expiry stays ``info`` on ``chat.alerts`` (the
product's brief) for paging rules to skip; many at once is one ``expiry_spike`` (``warning``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from processor.core.lifecycle import alert
from schemas.alerts import Alert, AlertStatus, AlertType, Severity

__all__ = ["cap_resolutions", "expiry_spike", "resolved"]

SAMPLE_IDS = 5  # ids a summary names


def resolved(
    kind: AlertType,
    dedup_key: str,
    now: datetime,
    why: str,
    *,
    persistent_session_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
) -> Alert:
    """The end of the condition ``dedup_key`` names: same key, ``resolved``, ``info``."""
    a = alert(
        kind, Severity.INFO, f"resolved: {kind.value.replace('_', ' ')} ({why})", dedup_key, now,
        persistent_session_id=persistent_session_id, conversation_id=conversation_id,
        details={"resolution": why},
    )
    return a.model_copy(
        update={"status": AlertStatus.RESOLVED, "id": uuid.uuid5(a.id, "resolved")}
    )


def expiry_spike(count: int, threshold: int, now: datetime) -> list[Alert]:
    """One alert when a scan round expires more sessions than ``threshold``: many sessions
    ending at once usually means conversations are not being observed (the bridge is down, the
    flow stopped posting), not that customers left together. Per round: a spike that lasts
    alerts every round, which is what on-call needs to see it go on."""
    if count <= threshold:
        return []
    return [
        alert(
            AlertType.EXPIRY_SPIKE,
            Severity.WARNING,
            f"{count} sessions expired in one scan round (threshold {threshold}); check that "
            "Genesys events and snapshots are still arriving",
            f"expiry_spike:{now.isoformat()}",
            now,
            details={"expired": count, "threshold": threshold},
        )
    ]


def cap_resolutions(
    ended: Sequence[Alert], cap: int, now: datetime
) -> tuple[list[Alert], list[Alert]]:
    """(told, covered): at most ``cap`` resolutions of one type told one by one per round, the
    rest recorded as told (``covered``) and summed up in one resolved summary. A flood of
    unmapped ids that ends (or is forgotten) must not page its end twenty thousand times."""
    told: list[Alert] = []
    covered: list[Alert] = []
    for kind in dict.fromkeys(a.type for a in ended):
        same = [a for a in ended if a.type is kind]
        told.extend(same[:cap])
        rest = same[cap:]
        if rest:
            covered.extend(rest)
            samples = [str(a.conversation_id) for a in rest if a.conversation_id][:SAMPLE_IDS]
            summary = alert(
                kind, Severity.INFO,
                f"resolved: {len(rest)} more {kind.value} conditions ended this scan round than "
                f"the {cap} told one by one",
                f"{kind.value}:aggregate-resolved:{now.isoformat()}", now,
                details={"aggregate": True, "count": len(rest), "toldIndividually": cap,
                         "sampleConversationIds": samples},
            )
            told.append(summary.model_copy(
                update={"status": AlertStatus.RESOLVED, "id": uuid.uuid5(summary.id, "resolved")}
            ))
    return told, covered
