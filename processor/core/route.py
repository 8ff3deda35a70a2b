"""Stage 1: turn input records into session updates keyed by persistentSessionId.

Inputs are ``genesys.conversations`` (keyed by conversation id), ``chat.snapshots`` and
``chat.session-commands`` (keyed by persistentSessionId). Each record becomes at most one
:class:`SessionUpdate` for the internal per-session topic, a dead letter, a skip, or — for a
Genesys event whose conversation has no known session yet — a parked observation that is
forwarded once the mapping is known (by this stage on a later event, or by the leader's scan).

``route`` is pure: the shell resolves mappings first (``needs_mapping``), passes them in, and
carries out the result (produce, park, dead-letter).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from processor.core.commands import parse_command
from processor.core.normalise import parse_genesys
from processor.core.pii import DEFAULT_REGION, PiiKind, redact_text
from processor.core.snapshots import GuardedSnapshot, parse_snapshot
from schemas.commands import (
    PiiFindingRef,
    SessionCommand,
    SessionUpdate,
)
from schemas.observation import Accepted, ConversationObservation, Rejected, Skipped
from schemas.snapshot import PII_FINDINGS_HEADER

__all__ = [
    "COMMANDS",
    "CONVERSATIONS",
    "SNAPSHOTS",
    "Inbound",
    "Parked",
    "Routed",
    "needs_mapping",
    "parse_all",
    "route",
]

CONVERSATIONS = "genesys.conversations"
SNAPSHOTS = "chat.snapshots"
COMMANDS = "chat.session-commands"


@dataclass(frozen=True)
class Inbound:
    logical: str  # which input (CONVERSATIONS, SNAPSHOTS, COMMANDS)
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def source_id(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Parked:
    conversation_id: uuid.UUID
    source_id: str
    received_at: datetime
    observation: ConversationObservation

    def to_dict(self) -> dict[str, object]:
        """For a jsonb column (the pool's codec serialises it)."""
        return {
            "sourceId": self.source_id,
            "receivedAt": self.received_at.isoformat(),
            "observation": self.observation.model_dump(mode="json", by_alias=True),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Parked:
        obs = ConversationObservation.model_validate(data["observation"])
        return cls(
            obs.conversation_id,
            str(data["sourceId"]),
            datetime.fromisoformat(str(data["receivedAt"])),
            obs,
        )


@dataclass
class Routed:
    updates: list[SessionUpdate] = field(default_factory=list)
    parked: list[Parked] = field(default_factory=list)
    dead: list[tuple[Inbound, str, str]] = field(default_factory=list)  # record, reason, detail
    skipped: Counter[str] = field(default_factory=Counter)
    pii_rejected: list[tuple[uuid.UUID, list[PiiFindingRef]]] = field(default_factory=list)
    learned: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # conversation -> session


Parsed = Accepted | Skipped | Rejected | GuardedSnapshot | SessionCommand

# SessionUpdate(...) without BaseModel.__init__'s frame and a command model built in Python
# first: the same validation (in pydantic-core), where the observation, snapshot and findings
# are models already validated by the parsers and are taken as they are (pydantic does not
# revalidate instances). A sixth of routing's own CPU per record.
_update: Callable[[dict[str, Any]], SessionUpdate] = (
    SessionUpdate.__pydantic_validator__.validate_python
)


def parse_all(records: Sequence[Inbound], *, region: str = DEFAULT_REGION) -> list[Parsed]:
    """Parse every record with the contract of its input; never raises (each parser catches
    everything, and a record's failure is its own ``Rejected``). ``region`` is the PII guard's
    default phone region (``CHATSTATE_PII_DEFAULT_REGION``)."""
    out: list[Parsed] = []
    for r in records:
        if r.logical == CONVERSATIONS:
            out.append(parse_genesys(r.value))
        elif r.logical == SNAPSHOTS:
            out.append(parse_snapshot(r.value, region=region))
        else:
            out.append(parse_command(r.value, region=region))
    return out


def needs_mapping(parsed: Sequence[Parsed], known: Mapping[uuid.UUID, uuid.UUID]) -> set[uuid.UUID]:
    """Conversation ids whose session the shell must look up before ``route``."""
    return {
        p.observation.conversation_id
        for p in parsed
        if isinstance(p, Accepted)
        and p.observation.persistent_session_id is None
        and p.observation.conversation_id not in known
    }


def route(
    records: Sequence[Inbound],
    parsed: Sequence[Parsed],
    mappings: Mapping[uuid.UUID, uuid.UUID],
    now: datetime,
) -> Routed:
    """Decide what each record becomes. ``mappings`` is conversation id -> session id as known
    (it is extended by what this batch itself reveals, in order)."""
    out = Routed()
    known = dict(mappings)
    for rec, p in zip(records, parsed, strict=True):
        if isinstance(p, Skipped):
            out.skipped[p.reason] += 1
        elif isinstance(p, Rejected):
            out.dead.append((rec, p.reason, p.detail))
        elif isinstance(p, Accepted):
            obs = p.observation
            psid = obs.persistent_session_id or known.get(obs.conversation_id)
            if psid is None:
                out.parked.append(Parked(obs.conversation_id, rec.source_id, now, obs))
                continue
            if obs.conversation_id not in known:
                known[obs.conversation_id] = psid
                out.learned[obs.conversation_id] = psid
            out.updates.append(_observed(psid, rec.source_id, now, obs))
        elif isinstance(p, GuardedSnapshot):
            snap = p.snapshot
            if p.rejected:
                out.pii_rejected.append((snap.persistent_session_id, p.rejected))
                out.dead.append(
                    (
                        rec,
                        "pii_rejected",
                        "PII where policy rejects it: "
                        + ", ".join(f"{f.path} ({f.kind})" for f in p.rejected),
                    )
                )
                continue
            if snap.conversation_id and snap.conversation_id not in known:
                known[snap.conversation_id] = snap.persistent_session_id
                out.learned[snap.conversation_id] = snap.persistent_session_id
            findings = list(p.findings)
            findings += [f for f in _header_findings(rec.headers) if f not in findings]
            out.updates.append(_update({
                "persistent_session_id": snap.persistent_session_id,
                "source_id": rec.source_id,
                "received_at": now,
                "command": {"type": "apply_snapshot", "snapshot": snap,
                            "content_id": p.content_id, "pii_findings": findings},
            }))
        else:  # SessionCommand
            out.updates.append(_update({
                "persistent_session_id": p.persistent_session_id, "source_id": rec.source_id,
                "received_at": now, "command": p.command,
            }))
    return out


_MAX_HEADER_FINDINGS = 50
_KINDS = frozenset(k.value for k in PiiKind)


def _header_findings(headers: Sequence[tuple[str, bytes]]) -> list[PiiFindingRef]:
    """PII the producer redacted before writing (the API does): paths and kinds only. Anyone
    can write this header, and its paths reach the snapshot history and alerts: a kind must
    be one the guard names, a path is capped and itself passes the guard."""
    for name, value in headers:
        if name == PII_FINDINGS_HEADER:
            try:
                found = [PiiFindingRef.model_validate(f) for f in json.loads(value)]
            except (ValueError, TypeError, ValidationError, RecursionError):
                return []
            return [
                PiiFindingRef(path=redact_text(f.path[:300])[0], kind=f.kind)
                for f in found[:_MAX_HEADER_FINDINGS]
                if f.kind in _KINDS
            ]
    return []


def unpark(parked: Sequence[Parked], psid: uuid.UUID) -> list[SessionUpdate]:
    """Parked observations, in the order they arrived, as updates for the session now known."""
    return [_observed(psid, p.source_id, p.received_at, p.observation) for p in parked]


def _observed(
    psid: uuid.UUID, source_id: str, at: datetime, obs: ConversationObservation
) -> SessionUpdate:
    return _update({
        "persistent_session_id": psid, "source_id": source_id, "received_at": at,
        "command": {"type": "observe_conversation", "observation": obs},
    })
