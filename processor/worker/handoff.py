"""Stage 1 hands its updates to stage 2 in memory when both run in one process.

Every update crosses the internal topic as JSON (the topic is the contract, the oracle's input
and what another worker reads after a rebalance), but when this process's stage 2 reads a record
this process's stage 1 just produced, decoding it again re-validates what stage 1 built a moment
ago: ~12% of the worker's CPU in the profile of issue 14. So stage 1 keeps the updates of each
record it produced, by (topic, partition, offset) from the broker's acknowledgement, and stage 2
takes them instead of decoding, but only if the record's bytes are exactly the bytes stage 1
encoded them to (the comparison costs a ``memcmp``); anything else is decoded as usual.

Bounded by updates held. When full, new records are not kept (rather than the oldest evicted):
stage 2 reads in offset order, so the oldest entries are the next ones it needs, and a stage 1
that races ahead during a backlog must not flush them out.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.commands import SessionUpdate

__all__ = ["Handoff"]

_Key = tuple[str, int, int]


class Handoff:
    def __init__(self, max_updates: int = 20_000) -> None:
        self.max_updates = max_updates
        self._held: dict[_Key, tuple[bytes, tuple[SessionUpdate, ...]]] = {}
        self._size = 0
        self._owned: dict[str, set[int]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return self._size

    def keep(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes,
        updates: Sequence[SessionUpdate],
    ) -> None:
        if self._size + len(updates) > self.max_updates or partition not in self._owned.get(
            topic, ()
        ):
            return
        self._held[(topic, partition, offset)] = (value, tuple(updates))
        self._size += len(updates)

    def take(
        self, topic: str, partition: int, offset: int, value: bytes
    ) -> tuple[SessionUpdate, ...] | None:
        """The updates of this record if this process produced exactly these bytes there."""
        held = self._held.pop((topic, partition, offset), None)
        if held is None:
            self.misses += 1
            return None
        self._size -= len(held[1])
        if held[0] != value:
            self.misses += 1
            return None
        self.hits += 1
        return held[1]

    def own(self, topic: str, partitions: set[int]) -> None:
        """The internal partitions this process's stage 2 now owns (after a rebalance): only
        their records are kept, and what was kept for the others is dropped."""
        self._owned[topic] = set(partitions)
        for key in [k for k in self._held if k[0] == topic and k[1] not in partitions]:
            self._size -= len(self._held.pop(key)[1])
