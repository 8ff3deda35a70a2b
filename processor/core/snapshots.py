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

from processor.core.normalise import validation_detail
from processor.core.pii import DEFAULT_REGION, Finding, Policy, scan
from processor.core.rawjson import Refused, load
from schemas.commands import PiiFindingRef
from schemas.dlq import DeadLetterReason
from schemas.limits import REASONS
from schemas.observation import Rejected
from schemas.snapshot import SnapshotIn

__all__ = [
    "DEFAULT_POLICY",
    "GuardedSnapshot",
    "content_id",
    "guard_snapshot",
    "parse_snapshot",
    "reason_of",
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


# What json.dumps(value, sort_keys=True) builds on every call, built once (the same text).
_CANONICAL = json.JSONEncoder(sort_keys=True)


def content_id(snapshot: SnapshotIn) -> str:
    """Same session, time and content -> same id: a retried data action is recognised."""
    canonical = _CANONICAL.encode(snapshot.model_dump(mode="json", by_alias=True))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ref(f: Finding) -> PiiFindingRef:
    return PiiFindingRef(path=f.path, kind=f.kind.value)


def guard_snapshot(
    snapshot: SnapshotIn,
    policy: Mapping[str, Policy] = DEFAULT_POLICY,
    *,
    region: str = DEFAULT_REGION,
) -> GuardedSnapshot:
    result = scan(
        {
            "stateSnapshot": snapshot.state_snapshot.model_dump(mode="json", by_alias=True),
            "customProperties": snapshot.custom_properties,
        },
        policy,
        region=region,
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
    raw: bytes, policy: Mapping[str, Policy] = DEFAULT_POLICY, *, region: str = DEFAULT_REGION
) -> GuardedSnapshot | Rejected:
    """A record of ``chat.snapshots`` -> a guarded snapshot, or why not. Never raises: the caps
    of :mod:`schemas.limits` have reasons of their own, a contract breach is
    ``invalid_snapshot``, and anything else (a bug) is ``parser_error`` with its type only."""
    try:
        data = load(raw)
        if not isinstance(data, dict):
            return Rejected(reason=DeadLetterReason.NOT_AN_OBJECT,
                            detail="a snapshot is a JSON object")
        try:
            snapshot = SnapshotIn.model_validate(data)
        except ValidationError as exc:
            return Rejected(reason=reason_of(exc, DeadLetterReason.INVALID_SNAPSHOT),
                            detail=validation_detail(exc))
        return guard_snapshot(snapshot, policy, region=region)
    except Refused as r:
        return Rejected(reason=r.reason, detail=r.detail)
    except Exception as exc:  # the promise is "never raises": a bug must not stop stage 1
        return Rejected(reason=DeadLetterReason.PARSER_ERROR, detail=type(exc).__name__)


def reason_of(exc: ValidationError, default: DeadLetterReason) -> DeadLetterReason:
    """A cap's own reason when one of the errors is a cap (``schemas.limits``), else
    ``default``: the input's ``invalid_*``."""
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        if (reason := REASONS.get(err["type"])) is not None:
            return reason
    return default
