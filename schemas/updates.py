"""The internal topic's record: an ordered batch of session updates for one partition.

``chatstate.session-updates`` carries one record per destination partition per stage-1 batch
(and per scan round), so stage 2's Faust agent pays its per-record cost once per batch instead
of once per input record (issue 14). Every update of a record hashes to the record's partition
(Kafka's default murmur2 partitioner on the persistentSessionId), in the order stage 2 must
apply them. A position inside the topic is therefore ``(offset, index within the record)``.

Versions: ``1`` was one bare :class:`SessionUpdate` per record (no ``version`` field); readers
still accept it so records written before an upgrade are applied. ``2`` is this batch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.base import WireModel
from schemas.commands import SessionUpdate

__all__ = ["UPDATES_RECORD_VERSION", "SessionUpdateBatch"]

UPDATES_RECORD_VERSION: Literal[2] = 2


class SessionUpdateBatch(WireModel):
    """One record of ``chatstate.session-updates`` (version 2)."""

    version: Literal[2] = 2
    updates: list[SessionUpdate] = Field(min_length=1)
