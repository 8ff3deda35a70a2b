"""Guarding a data-action snapshot before anything stores, logs or emits it.

Shared by the HTTP API (which guards before producing to Kafka) and stage 1 (which guards
whatever reached ``chat.snapshots`` by other paths), so both apply one policy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from processor.core.pii import Finding, Policy, scan
from schemas.commands import PiiFindingRef
from schemas.observation import Rejected
from schemas.snapshot import SnapshotIn

__all__ = [
    "DEFAULT_POLICY",
    "GuardedSnapshot",
    "content_id",
    "guard_snapshot",
    "parse_snapshot",
]

# Free text is redacted; a card number where a payment *token* belongs means the integration is
# wrong, so the whole snapshot is refused and the flow's error branch fires.
DEFAULT_POLICY: Mapping[str, Policy] = {
    "$.stateSnapshot.lastAgentMessage": Policy.REDACT,
    "$.customProperties.paymentToken": Policy.REJECT,
    "$.customProperties.cardToken": Policy.REJECT,
}


@dataclass(frozen=True)
class GuardedSnapshot:
    snapshot: SnapshotIn  # redacted
    content_id: str
    findings: list[PiiFindingRef] = field(default_factory=list)
    rejected: list[PiiFindingRef] = field(default_factory=list)


def content_id(snapshot: SnapshotIn) -> str:
    """Same session, time and content -> same id: a retried data action is recognised."""
    canonical = json.dumps(snapshot.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ref(f: Finding) -> PiiFindingRef:
    return PiiFindingRef(path=f.path, kind=f.kind.value)


def guard_snapshot(
    snapshot: SnapshotIn, policy: Mapping[str, Policy] = DEFAULT_POLICY
) -> GuardedSnapshot:
    result = scan(
        {
            "stateSnapshot": snapshot.state_snapshot.model_dump(mode="json", by_alias=True),
            "customProperties": snapshot.custom_properties,
        },
        policy,
    )
    # Nothing found means nothing was replaced: the snapshot goes on as it came (rebuilding it
    # from the scanned copy was a tenth of the API's work per snapshot).
    redacted = snapshot if not result.findings else snapshot.model_copy(
        update={
            "state_snapshot": type(snapshot.state_snapshot).model_validate(
                result.value["stateSnapshot"]
            ),
            "custom_properties": result.value["customProperties"],
        }
    )
    return GuardedSnapshot(
        snapshot=redacted,
        content_id=content_id(redacted),
        findings=[_ref(f) for f in result.findings],
        rejected=[_ref(f) for f in result.rejected],
    )


def parse_snapshot(
    raw: bytes, policy: Mapping[str, Policy] = DEFAULT_POLICY
) -> GuardedSnapshot | Rejected:
    """A record of ``chat.snapshots`` -> a guarded snapshot, or why not. Never raises."""
    from processor.core.normalise import validation_detail  # shared, values-free error text

    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return Rejected(reason="invalid_json", detail="the record is not valid JSON")
    if not isinstance(data, dict):
        return Rejected(reason="not_an_object", detail="a snapshot is a JSON object")
    try:
        snapshot = SnapshotIn.model_validate(data)
    except ValidationError as exc:
        return Rejected(reason="invalid_snapshot", detail=validation_detail(exc))
    except (ValueError, TypeError, OverflowError) as exc:
        return Rejected(reason="invalid_snapshot", detail=type(exc).__name__)
    return guard_snapshot(snapshot, policy)
