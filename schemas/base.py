"""What every contract shares: camelCase on the wire, and an id + schema version on every
record chatstate emits, so consumers can dedupe repeats after a crash and evolve safely."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["Emitted", "WireModel"]


class WireModel(BaseModel):
    """camelCase JSON on the wire, snake_case in Python; unknown fields ignored, not fatal."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=False).encode()


class Emitted(WireModel):
    """A record chatstate writes to a topic: a unique id and the schema version it follows."""

    SCHEMA_VERSION: ClassVar[int] = 1

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    schema_version: int = Field(default=1)
