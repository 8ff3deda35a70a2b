"""The body an Architect data action posts (seed section 2): a state snapshot of one session.

Strict where it matters (ids are UUIDs, ``customerIdHashed`` is a SHA-256 hex digest, sizes are
bounded) and lenient where Genesys is: Velocity templates send numbers as strings and empty
strings for values a flow did not set.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas.base import WireModel
from schemas.genesys import MAX_EPOCH_MS
from schemas.limits import MAX_NUMBER_DIGITS, check_tree, text_length

__all__ = [
    "MAX_SNAPSHOT_BYTES",
    "PII_FINDINGS_HEADER",
    "SHA256_HEX",
    "SnapshotIn",
    "StateSnapshot",
]

# \A...\Z, not ^...$: Python's ``$`` also matches before a trailing newline, and a digest with
# one passed here, then failed the database's CHECK (a 500, or a 202 then a dead letter).
SHA256_HEX = re.compile(r"\A[0-9a-f]{64}\Z")
MAX_SNAPSHOT_BYTES = 64 * 1024  # a snapshot is context, not a transcript
# Record header on ``chat.snapshots``: PII the producer (the HTTP API) already redacted, as JSON
# ``[{"path": ..., "kind": ...}]`` — the value itself arrives clean, so this is how it is known.
PII_FINDINGS_HEADER = "chatstate-pii-findings"
_MAX_TEXT = 8000


_MAX_INT = 10**MAX_NUMBER_DIGITS


def _flat_size_bound(*mappings: Iterable[tuple[Any, Any]]) -> int | None:
    """An upper bound of :meth:`SnapshotIn._bounded`'s size for flat mappings, or None when
    one is not flat. JSON writes a character as at most 6 (``\\u0000``) and ``repr`` as at most
    10 (``\\U0001f600``); any other scalar is at most 101 digits or 24 characters of a float;
    128 covers a value's quotes, separators and non-text scalar. Measuring exactly dumps the
    state as JSON and the properties as text, which every decode of the internal topic paid."""
    total = 4
    for items in mappings:
        for k, x in items:
            if type(k) is not str:
                return None
            t = type(x)
            if t is str:
                total += 10 * len(x)
            elif t is int:
                if not -_MAX_INT < x < _MAX_INT:
                    return None
            elif x is not None and t is not bool and t is not float:
                return None
            total += 10 * len(k) + 128
    return total


def _blank_to_none(v: Any) -> Any:
    return None if isinstance(v, str) and v.strip() == "" else v


def _at_most(limit: int) -> Callable[[str], str]:
    """At most ``limit`` characters, a redaction marker counting as one (see
    :func:`schemas.limits.text_length`): the guard's marker may be longer than the card it
    replaced, and stage 1 reads the redacted text the API produced. pydantic's own error type
    and message; published as ``maxLength``."""

    def check(v: str) -> str:
        if len(v) > limit and text_length(v) > limit:
            raise PydanticCustomError("string_too_long",
                                      "String should have at most {max_length} characters",
                                      {"max_length": limit})
        return v

    return check


_Intent = Annotated[str, AfterValidator(_at_most(256)),
                    WithJsonSchema({"maxLength": 256, "type": "string"})]
_AgentMessage = Annotated[str, AfterValidator(_at_most(_MAX_TEXT)),
                          WithJsonSchema({"maxLength": _MAX_TEXT, "type": "string"})]


class StateSnapshot(WireModel):
    """``intent``, ``stepsCompleted``, ``lastAgentMessage`` and any further keys the flow adds."""

    model_config = WireModel.model_config | {"extra": "allow"}

    intent: _Intent | None = None
    steps_completed: int | None = Field(default=None, ge=0, le=10_000)
    last_agent_message: _AgentMessage | None = None

    @field_validator("intent", "steps_completed", "last_agent_message", mode="before")
    @classmethod
    def _lenient(cls, v: Any) -> Any:
        return _blank_to_none(v)


class SnapshotIn(WireModel):
    persistent_session_id: uuid.UUID
    conversation_id: uuid.UUID | None = None
    timestamp: datetime
    state_snapshot: StateSnapshot
    custom_properties: dict[str, Any] | None = None

    @field_validator("conversation_id", mode="before")
    @classmethod
    def _blank_conversation(cls, v: Any) -> Any:
        return _blank_to_none(v)

    @field_validator("state_snapshot", "custom_properties", mode="before")
    @classmethod
    def _within_caps(cls, v: Any, info: ValidationInfo) -> Any:
        """The caps of :mod:`schemas.limits` (depth, key and text sizes, storable text, finite
        numbers), checked before anything else reads the value; the error's type names the cap
        (``attribute_too_large``, ``too_deeply_nested``...) and its message the path."""
        if isinstance(v, dict):
            name = "stateSnapshot" if info.field_name == "state_snapshot" else "customProperties"
            if problem := check_tree(v, f"$.{name}", depth=2):
                raise PydanticCustomError(problem.kind, problem.message)
        return v

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_or_iso(cls, v: Any) -> Any:
        """ISO-8601 as Genesys writes it, or epoch milliseconds (as a number or a string)
        between 1970 and 9999: beyond, ``fromtimestamp`` raises errors pydantic does not catch
        (``OSError``, ``OverflowError``), and no snapshot is from then."""
        if isinstance(v, str) and v.strip().isascii() and v.strip().isdigit():
            v = int(v.strip())
        if isinstance(v, int | float) and not isinstance(v, bool):
            if not (math.isfinite(v) and 0 <= v <= MAX_EPOCH_MS):
                raise PydanticCustomError(
                    "timestamp_out_of_range",
                    "timestamp must be epoch milliseconds between 1970 and 9999, or ISO-8601",
                )
            return datetime.fromtimestamp(v / 1000, tz=UTC)
        return v

    @field_validator("timestamp")
    @classmethod
    def _aware_utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        try:
            return v.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:00-01:00 is after the last UTC datetime
            raise PydanticCustomError(
                "timestamp_out_of_range", "timestamp is outside the years 1 to 9999 in UTC"
            ) from None

    @field_validator("custom_properties")
    @classmethod
    def _customer_hash(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        h = (v or {}).get("customerIdHashed")
        if h not in (None, "") and (not isinstance(h, str) or not SHA256_HEX.match(h)):
            raise ValueError(
                "customProperties.customerIdHashed must be a lower-case SHA-256 hex digest "
                "(64 characters 0-9a-f); hash the customer id before sending it"
            )
        return v

    @model_validator(mode="after")
    def _bounded(self) -> SnapshotIn:
        ss = self.state_snapshot
        fast = _flat_size_bound(ss.__dict__.items(), (ss.model_extra or {}).items(),
                                (self.custom_properties or {}).items())
        if fast is not None and fast <= MAX_SNAPSHOT_BYTES:
            return self  # surely small enough: the exact measure below would pass it
        # Redaction markers count as one character: redacting never makes a snapshot too large.
        size = text_length(self.state_snapshot.model_dump_json()) + text_length(
            str(self.custom_properties or "")
        )
        if size > MAX_SNAPSHOT_BYTES:
            raise ValueError(f"snapshot too large: {size} bytes, limit {MAX_SNAPSHOT_BYTES}")
        return self

    @property
    def customer_id_hashed(self) -> str | None:
        h = (self.custom_properties or {}).get("customerIdHashed")
        return h if isinstance(h, str) and h else None
