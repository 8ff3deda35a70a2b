"""The outcome a correct chatstate must reach for each simulated session, derived from the plan
by the rules in ``docs/lifecycle.md``.

Only what does not depend on timing is stated as a must: which conversations a session has and
whether each ended, the latest snapshot (timestamps are distinct, so arrival order cannot
matter), how many snapshots reach history, the two-tab pairs, the PII alerts, and the final
status (the plan keeps returns inside the TTL, so no expiry is due during a run). What depends on
a timer (orphan alerts after the grace period) or on how stage 1 interleaves two conversation
keys (a return processed before the previous conversation's end looks like a second tab) is
listed separately as *may* / *after grace*.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from processor.core.snapshots import guard_snapshot
from processor.sim.plan import SessionPlan
from schemas.snapshot import SnapshotIn

__all__ = ["expected_session", "expected_summary"]


def expected_session(plan: SessionPlan) -> dict[str, Any]:
    psid = str(plan.persistent_session_id)
    conversations = {
        str(c.conversation_id): ("ended" if c.ends else "live") for c in plan.conversations
    }
    pairs: list[list[str]] = []
    live_tabs = [c for c in plan.conversations if not c.ends]
    if len(live_tabs) > 1:
        a, b = sorted(str(c.conversation_id) for c in live_tabs[:2])
        pairs.append([a, b])
    pii = 0
    for sp in plan.snapshots:
        if guard_snapshot(SnapshotIn.model_validate(sp.body)).findings:
            pii += 1
    # Legacy pre-chat forms that put an e-mail address into the customer's attributes: one alert
    # per conversation, naming the key, never the value.
    attribute_alerts = [
        f"pii_detected:attributes:{c.conversation_id}:context.email"
        for c in plan.conversations
        if plan.pii_in_attributes
    ]
    latest = max(plan.snapshots, key=lambda s: s.at, default=None)
    if plan.closed:
        status = "closed"
    elif any(not c.ends for c in plan.conversations):
        status = "active"
    else:
        status = "idle"
    return {
        "persistentSessionId": psid,
        "kind": plan.kind,
        "customerIdHashed": plan.customer_id_hashed,
        "conversations": conversations,
        "latestSnapshot": None
        if latest is None
        else {
            "simId": latest.sim_id,
            "intent": latest.intent,
            "stepsCompleted": latest.steps,
            "timestamp": latest.at.isoformat(),
        },
        "snapshotCount": len(plan.snapshots),
        "concurrentPairs": pairs,
        "alerts": {
            "pii_detected": pii + len(attribute_alerts),
            "pii_detected_attributes": attribute_alerts,
            "concurrent_session": [f"concurrent_session:{psid}:{a}:{b}" for a, b in pairs],
        },
        "alertsAfterGrace": [
            f"orphaned_conversation:{c.conversation_id}"
            for c in plan.conversations
            if not c.data_action and not c.ends
        ],
        "mayAlsoSee": (
            ["concurrent_session for a return seen before the previous conversation's end"]
            if len(plan.conversations) > 1 and not pairs
            else []
        ),
        "finalStatus": status,
        "finalStatusAssumes": "no expiry scan with a TTL shorter than the simulated span",
    }


def expected_summary(plans: Iterable[SessionPlan], counts: dict[str, int]) -> dict[str, Any]:
    sessions = [expected_session(p) for p in plans]
    return {
        "sessions": len(sessions),
        "records": dict(sorted(counts.items())),
        "recordsTotal": sum(counts.values()),
        "malformed": counts.get("malformed", 0),
        "piiAlerts": sum(s["alerts"]["pii_detected"] for s in sessions),
        "concurrentAlerts": sum(len(s["concurrentPairs"]) for s in sessions),
        "bySession": sessions,
    }
