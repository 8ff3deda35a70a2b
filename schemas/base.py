"""What every contract shares: camelCase on the wire, and an id + schema version on every
record chatstate emits, so consumers can dedupe repeats after a crash and evolve safely."""

from __future__ import annotations

import os
import uuid
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["Emitted", "WireModel", "new_id"]

# uuid.uuid4()'s version and variant bits (RFC 4122), applied to 128 random bits.
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_SET = (4 << 76) | (0x8000 << 48)
_UNKNOWN = uuid.SafeUUID.unknown


def new_id() -> uuid.UUID:
    """A random (version 4) UUID, like :func:`uuid.uuid4` and from the same source
    (``os.urandom``: unpredictable, no state a fork could copy), at half its cost: stage 1
    stamps one on every update it routes, and ``UUID.__init__``'s argument checks were a tenth
    of routing. The two slots are the ones ``UUID.__init__`` itself sets this way;
    ``tests/unit/contracts/test_new_id.py`` checks the result equals the public constructor's.
    """
    u = object.__new__(uuid.UUID)
    object.__setattr__(u, "int", int.from_bytes(os.urandom(16)) & _V4_CLEAR | _V4_SET)
    object.__setattr__(u, "is_safe", _UNKNOWN)
    return u


class WireModel(BaseModel):
    """camelCase JSON on the wire, snake_case in Python; unknown fields ignored, not fatal."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    def to_json_bytes(self) -> bytes:
        """``model_dump_json(by_alias=True).encode()`` without its round trip through ``str``:
        the serializer writes bytes, and stage 1 encodes every update it routes."""
        return self.__pydantic_serializer__.to_json(self, by_alias=True, exclude_none=False)


class Emitted(WireModel):
    """A record chatstate writes to a topic: a unique id and the schema version it follows."""

    SCHEMA_VERSION: ClassVar[int] = 1

    id: uuid.UUID = Field(default_factory=new_id)
    schema_version: int = Field(default=1)
