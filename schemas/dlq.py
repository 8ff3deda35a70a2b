"""Dead letters (``chat.dlq``): the original key and bytes untouched, and headers that say where
they came from, which stage gave up and why. The value is never re-encoded, so a fixed record
can be replayed byte for byte."""

from __future__ import annotations

from datetime import datetime

from schemas.base import WireModel

__all__ = ["HEADER_PREFIX", "DeadLetterInfo"]

HEADER_PREFIX = "chatstate-"


class DeadLetterInfo(WireModel):
    source_topic: str
    source_partition: int
    source_offset: int
    stage: str  # "normalise", "route", "apply"
    reason: str  # a stable code, e.g. "invalid_json"
    detail: str = ""  # human-readable, never the record's values
    failed_at: datetime

    def headers(self) -> list[tuple[str, bytes]]:
        fields = {
            "source-topic": self.source_topic,
            "source-partition": str(self.source_partition),
            "source-offset": str(self.source_offset),
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail[:500],
            "failed-at": self.failed_at.isoformat(),
        }
        return [(HEADER_PREFIX + k, v.encode()) for k, v in fields.items()]

    @classmethod
    def from_headers(cls, headers: list[tuple[str, bytes]]) -> DeadLetterInfo:
        h = {k.removeprefix(HEADER_PREFIX): v.decode() for k, v in headers
             if k.startswith(HEADER_PREFIX)}
        return cls(
            source_topic=h["source-topic"], source_partition=int(h["source-partition"]),
            source_offset=int(h["source-offset"]), stage=h["stage"], reason=h["reason"],
            detail=h.get("detail", ""), failed_at=datetime.fromisoformat(h["failed-at"]),
        )
