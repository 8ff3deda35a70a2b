"""What the lifecycle's rules return, and the ids they derive: shared by :mod:`lifecycle` and
its rule modules (:mod:`observe_rules`, :mod:`snapshot_rules`, :mod:`command_rules`).

A :class:`Decision` is data, never an action: the shells write its rows, publish its session
and its alerts. Ids are derived (``uuid5``) from what they name, so a decision computed twice
(a replay, a retry after a crash) carries the same ids and consumers recognise it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from processor.core.removal import Removal
from schemas.alerts import Alert, AlertType, Severity, runbook_link
from schemas.base import WireModel
from schemas.session import ConversationRecord, SessionState

__all__ = ["Decision", "LifecyclePolicy", "SnapshotRow", "alert", "evolve", "state_id"]

M = TypeVar("M", bound=WireModel)
_set = object.__setattr__

_IDS = uuid.UUID("6f1f3c1e-2d0b-4a55-9a43-63686174a7a7")  # namespace for derived ids
_IDS_BYTES = _IDS.bytes
_CLEAR_VERSION = ~((0xF000 << 64) | (0xC000 << 48))  # uuid.UUID.__init__'s version handling
_VERSION_5 = (0x8000 << 48) | (5 << 76)
_DEDUP_KEY_MAX = 400  # characters; the alert log indexes dedup keys (btree rows <= ~2.7 kB)


def state_id(psid: uuid.UUID, version: int) -> uuid.UUID:
    """The id of a published session state: the same (session, version) always has the same id,
    so a state re-sent after a crash is recognised by consumers.

    ``uuid.uuid5(_IDS, f"{psid}:{version}")`` computed directly (the same bytes, the same
    version and variant bits): ``uuid5`` re-validates its result through ``UUID.__init__``'s
    keyword handling, a third of the cost, once per changed session."""
    digest = hashlib.sha1(_IDS_BYTES + f"{psid}:{version}".encode(), usedforsecurity=False)
    n = int.from_bytes(digest.digest()[:16])
    return uuid.UUID(int=(n & _CLEAR_VERSION) | _VERSION_5)


def evolve(model: M, changes: Mapping[str, Any]) -> M:
    """``model.model_copy(update=changes)``, the same object (fields, fields set, no
    validation), built directly: pydantic's ``__copy__`` goes through ``copy.copy`` three times
    per call, and the lifecycle copies a session two or three times per update (issue 14:
    ~8 % of ``decide``). Only for models without extra or private attributes (``WireModel``
    ignores extras; none of the lifecycle's models has private ones)."""
    cls = type(model)
    new = cls.__new__(cls)
    _set(new, "__dict__", {**model.__dict__, **changes})
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_fields_set__", model.__pydantic_fields_set__ | changes.keys())
    _set(new, "__pydantic_private__", None)
    return new


@dataclass(frozen=True)
class LifecyclePolicy:
    ttl: timedelta = timedelta(hours=72)
    retention: timedelta = timedelta(days=90)
    require_issued: bool = False
    purge_after: timedelta | None = None  # after archiving; None: never purge


@dataclass(frozen=True)
class SnapshotRow:
    """One row of snapshot history."""

    persistent_session_id: uuid.UUID
    conversation_id: uuid.UUID | None
    snapshot_at: datetime
    received_at: datetime
    source_id: str
    state: dict[str, Any]
    custom_properties: dict[str, Any] | None
    pii_findings: list[dict[str, str]]


@dataclass(frozen=True)
class Decision:
    """What an update did. ``session`` is None only when the update was refused outright."""

    session: SessionState | None
    changed: bool = False
    conversations: list[ConversationRecord] = field(default_factory=list)
    snapshot: SnapshotRow | None = None
    alerts: list[Alert] = field(default_factory=list)
    removal: Removal | None = None  # delete the session's rows, tombstone it


def alert(
    kind: AlertType,
    severity: Severity,
    summary: str,
    dedup_key: str,
    now: datetime,
    *,
    persistent_session_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> Alert:
    """An alert whose id derives from its dedup key: a re-sent alert carries the same id.

    A dedup key built from a record's content (attribute keys, field paths) can be long; past
    ``_DEDUP_KEY_MAX`` characters it keeps its head and a digest of the whole, so it stays
    unique and under PostgreSQL's index row limit (a longer one failed every insert)."""
    if len(dedup_key) > _DEDUP_KEY_MAX:
        digest = hashlib.sha256(dedup_key.encode("utf-8", "surrogatepass")).hexdigest()
        dedup_key = f"{dedup_key[:120]}...sha256:{digest}"
    return Alert(
        id=uuid.uuid5(_IDS, dedup_key),
        type=kind,
        severity=severity,
        persistent_session_id=persistent_session_id,
        conversation_id=conversation_id,
        detected_at=now,
        summary=summary,
        details=details or {},
        dedup_key=dedup_key,
        runbook=runbook_link(kind.value.replace("_", "-")),
    )
