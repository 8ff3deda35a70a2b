"""Alerts for on-call engineers (``chat.alerts``): what happened, to what, how bad, and where
the runbook says what to do. ``dedup_key`` names the *thing*, so the same thing never pages twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from schemas.base import Emitted

__all__ = ["RUNBOOK", "Alert", "AlertType", "Severity"]

RUNBOOK = "docs/runbook.md#{anchor}"


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


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(Emitted):
    type: AlertType
    severity: Severity
    persistent_session_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    detected_at: datetime
    summary: str  # one line, no PII
    details: dict[str, Any] = Field(default_factory=dict)  # no PII: paths and kinds, ids, counts
    dedup_key: str
    runbook: str

    @property
    def subject(self) -> str:
        """The Kafka key: what the alert is about."""
        return str(self.persistent_session_id or self.conversation_id or self.dedup_key)
