"""Alerts for on-call engineers (``chat.alerts``): what happened, to what, how bad, and where
the runbook says what to do. ``dedup_key`` names the *condition*; with ``status`` it is what is
deduplicated, so a condition pages once when it starts (``firing``), is told once when it ends
(``resolved``), and fires again if it comes back.

Schema version 2 added ``status`` (version 1 alerts had none: read them as ``firing``).
Routine expiry is ``info`` (paging rules skip it); many expiries in one scan round raise one
``expiry_spike`` (``warning``): that usually means conversations are not being observed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from schemas.base import Emitted

__all__ = [
    "RUNBOOK",
    "Alert",
    "AlertStatus",
    "AlertType",
    "Severity",
    "runbook_link",
]

RUNBOOK = "docs/runbook.md#{anchor}"


def runbook_link(anchor: str) -> str:
    """The runbook section for ``anchor``, relative (the shell makes it absolute on the way
    out with ``CHATSTATE_RUNBOOK_BASE_URL``: ``processor.runbook_links``)."""
    return RUNBOOK.format(anchor=anchor)


class AlertType(StrEnum):
    SESSION_EXPIRED = "session_expired"
    ORPHANED_CONVERSATION = "orphaned_conversation"
    UNMAPPED_CONVERSATION = "unmapped_conversation"
    CONCURRENT_SESSION = "concurrent_session"
    PII_DETECTED = "pii_detected"
    PERSISTENCE_DEGRADED = "persistence_degraded"
    UNKNOWN_SESSION = "unknown_session"
    DEAD_LETTER = "dead_letter"
    PARKED_OVERFLOW = "parked_overflow"
    WRITEBACK_FAILED = "writeback_failed"  # the bridge could not tell the agent (issue 15)
    EXPIRY_SPIKE = "expiry_spike"


class AlertStatus(StrEnum):
    FIRING = "firing"  # the condition started (or is a one-off event)
    RESOLVED = "resolved"  # the condition ended


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(Emitted):
    SCHEMA_VERSION: ClassVar[int] = 2

    schema_version: int = Field(default=2)
    type: AlertType
    status: AlertStatus = Field(
        default=AlertStatus.FIRING,
        description="firing: the condition started; resolved: it ended (same dedupKey).",
    )
    severity: Severity
    persistent_session_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    detected_at: datetime
    summary: str  # one line, no PII
    details: dict[str, Any] = Field(default_factory=dict)  # no PII: paths and kinds, ids, counts
    dedup_key: str
    runbook: str

    @property
    def log_key(self) -> str:
        """The alert log's key: the condition and the status, so the start and the end of one
        condition are each told once."""
        return self.dedup_key if self.status is AlertStatus.FIRING else f"{self.dedup_key}#resolved"

    @property
    def subject(self) -> str:
        """The Kafka key: what the alert is about."""
        return str(self.persistent_session_id or self.conversation_id or self.dedup_key)
