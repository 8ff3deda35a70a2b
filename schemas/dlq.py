"""Dead letters (``chat.dlq``): what one record could not become, and why.

A dead letter keeps the original's key, headers and value *redacted* by the PII guard (byte for
byte when the guard found nothing), plus ``chatstate-*`` headers that say where it came from,
which stage gave up and why (a :class:`DeadLetterReason`), and whether anything was redacted.
When ``CHATSTATE_DLQ_ENCRYPTION_KEY`` is set, the untouched original travels beside it,
encrypted (``chatstate-original``), so ``chatstate dlq replay`` can re-produce it once its cause
is fixed; without a key the original is never kept in clear anywhere.

The reason codes are a contract: metrics label dead letters with them, the runbook has a
section per code, and the ``dlq`` tools filter on them. A reason's detail never quotes the
record's content (a pydantic error's ``input_value`` would carry PII): paths and types only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from schemas.base import WireModel

__all__ = ["HEADER_PREFIX", "DeadLetterInfo", "DeadLetterReason", "Stage"]

HEADER_PREFIX = "chatstate-"


class Stage(StrEnum):
    """Where a record gave up."""

    NORMALISE = "normalise"  # stage 1: parsing an input and routing it to its session
    APPLY = "apply"  # stage 2: the lifecycle and the database
    API = "api"  # the HTTP API (never dead-letters today; named for the tools)


class DeadLetterReason(StrEnum):
    """Why a record went to ``chat.dlq``. Each value has a section in ``docs/runbook.md``."""

    # --- the record's content: fix the producer, then replay ---------------------------------
    INVALID_JSON = "invalid_json"  # not JSON, not UTF-8, or duplicate/unparseable numbers
    NOT_AN_OBJECT = "not_an_object"  # JSON, but not an object
    TOO_DEEPLY_NESTED = "too_deeply_nested"  # nesting beyond what any contract needs
    RECORD_TOO_LARGE = "record_too_large"  # an input value over chatstate's size cap
    INVALID_ENVELOPE = "invalid_envelope"  # a Genesys envelope of a tracked topic, malformed
    MISSING_CONVERSATION_ID = "missing_conversation_id"
    INVALID_SNAPSHOT = "invalid_snapshot"  # a data-action body that breaks its contract
    INVALID_COMMAND = "invalid_command"  # a session command that breaks its contract
    INVALID_UPDATE = "invalid_update"  # an internal record stage 2 cannot read
    ATTRIBUTE_TOO_LARGE = "attribute_too_large"  # a key or value over the attribute caps
    PII_REJECTED = "pii_rejected"  # PII where the policy rejects it (e.g. a card as a token)
    # --- chatstate could not process it: a bug or a limit; fix, then replay ------------------
    PARSER_ERROR = "parser_error"  # the parser raised on it (a bug: it must never raise)
    LIFECYCLE_ERROR = "lifecycle_error"  # the state machine raised on it (a bug)
    STORAGE_REJECTED = "storage_rejected"  # PostgreSQL refused a value it carried
    OUTPUT_TOO_LARGE = "output_too_large"  # what it would publish exceeds the record size cap
    UNEXPECTED_ERROR = "unexpected_error"  # unclassified, kept failing while servers were up


class DeadLetterInfo(WireModel):
    source_topic: str
    source_partition: int
    source_offset: int
    stage: Stage
    reason: DeadLetterReason
    detail: str = ""  # human-readable, never the record's values
    failed_at: datetime
    redacted: bool = False  # the guard replaced something in the key, headers or value
    findings: str = ""  # where and what kind, e.g. "$.customProperties.note:card_number"

    def headers(self) -> list[tuple[str, bytes]]:
        fields = {
            "source-topic": self.source_topic,
            "source-partition": str(self.source_partition),
            "source-offset": str(self.source_offset),
            "stage": self.stage.value,
            "reason": self.reason.value,
            "detail": self.detail[:500],
            "failed-at": self.failed_at.isoformat(),
            "redacted": "true" if self.redacted else "false",
            "pii-findings": self.findings[:1000],
        }
        return [(HEADER_PREFIX + k, v.encode()) for k, v in fields.items()]

    @classmethod
    def from_headers(cls, headers: list[tuple[str, bytes]]) -> DeadLetterInfo:
        h = {
            k.removeprefix(HEADER_PREFIX): v.decode(errors="replace")
            for k, v in headers
            if k.startswith(HEADER_PREFIX)
        }
        return cls(
            source_topic=h["source-topic"],
            source_partition=int(h["source-partition"]),
            source_offset=int(h["source-offset"]),
            stage=Stage(h["stage"]),
            reason=DeadLetterReason(h["reason"]),
            detail=h.get("detail", ""),
            failed_at=datetime.fromisoformat(h["failed-at"]),
            redacted=h.get("redacted") == "true",
            findings=h.get("pii-findings", ""),
        )
