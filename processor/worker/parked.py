"""The bounds on parked observations, as pure pieces the worker shell uses.

A Genesys event whose conversation has no known session is *parked* (table
``unmapped_conversations``) until a snapshot or a later event reveals the session. A flood of
such ids (a misconfigured web client, a replayed capture, an attacker) must not grow memory,
the table or the alert stream without bound. Three pieces:

- :class:`ParkedIndex`: which conversations *this worker* parked, so stage 1 can forward their
  parked events ahead of the event that reveals the session. It is only a hint: the leader's
  scan releases whatever the index forgot (a rebalance loses it anyway). So it is bounded by
  count (the oldest entry evicted) and by age, and forgetting costs ordering, never data.
- :func:`admit`: which *new* conversations the table takes when it is nearly full. When the
  table is at its bound, new conversations are refused and what is parked stays. Why refuse
  rather than evict the oldest: a flood is made of new ids, so evicting would let it flush out
  every conversation parked before it (the ones whose snapshot is most likely on its way);
  refusing confines the loss to the flood's own window, matches the per-conversation cap (the
  first 50 observations kept, later ones dropped), costs no delete on the hot path, and the
  retention frees room steadily (the leader's scan deletes expired rows).
- :class:`OverflowWatch`: one ``parked_overflow`` alert per episode, not one per batch.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Admission", "OverflowWatch", "ParkedIndex", "admit"]


class ParkedIndex:
    """A set of conversation ids bounded by count and age; set-like (``in``, ``update``,
    ``difference_update``, ``len``) so the stage-1 code that used a plain set reads the same.

    Entries keep the time they were first added (the table's ``first_seen_at``): insertion
    order is age order, so both bounds evict from the front in O(evicted)."""

    def __init__(
        self,
        max_size: int,
        max_age: timedelta,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self.max_age_s = max_age.total_seconds()
        self._clock = clock
        self._added: OrderedDict[uuid.UUID, float] = OrderedDict()
        self.evicted = 0  # forgotten because of either bound (the scan releases those)

    def __contains__(self, conversation_id: object) -> bool:
        self._expire()
        return conversation_id in self._added

    def __len__(self) -> int:
        self._expire()
        return len(self._added)

    def update(self, conversation_ids: Iterable[uuid.UUID]) -> None:
        now = self._clock()
        for cid in conversation_ids:
            self._added.setdefault(cid, now)
        while len(self._added) > self.max_size:
            self._added.popitem(last=False)
            self.evicted += 1
        self._expire()

    def difference_update(self, conversation_ids: Iterable[uuid.UUID]) -> None:
        for cid in conversation_ids:
            self._added.pop(cid, None)

    def _expire(self) -> None:
        oldest_kept = self._clock() - self.max_age_s
        while self._added:
            cid, added = next(iter(self._added.items()))
            if added > oldest_kept:
                return
            del self._added[cid]
            self.evicted += 1


@dataclass(frozen=True)
class Admission:
    admitted: frozenset[uuid.UUID]  # conversations whose observations go to the table
    refused: frozenset[uuid.UUID]  # new conversations the full table does not take


def admit(
    conversation_ids: Sequence[uuid.UUID],
    already_parked: Iterable[uuid.UUID],
    used: int,
    limit: int,
) -> Admission:
    """Conversations already parked always get their observations (the per-conversation cap
    bounds them); new ones are taken in arrival order while ``used`` rows + new ones stay
    within ``limit``; the rest are refused."""
    parked = set(already_parked)
    room = max(limit - used, 0)
    admitted: set[uuid.UUID] = set()
    refused: set[uuid.UUID] = set()
    for cid in conversation_ids:
        if cid in parked or cid in admitted or cid in refused:
            continue
        if room > 0:
            admitted.add(cid)
            room -= 1
        else:
            refused.add(cid)
    return Admission(
        frozenset(parked.intersection(conversation_ids) | admitted), frozenset(refused)
    )


@dataclass
class OverflowWatch:
    """An overflow episode starts with the first refusal and ends once the table is back below
    ``clear_below`` of its bound (hysteresis: a table hovering at its bound while the
    retention frees a few rows does not page on every batch)."""

    clear_below: float = 0.9
    since: datetime | None = None

    def observe(self, refused: int, used: int, limit: int, now: datetime) -> bool:
        """Record one parking attempt; True when it starts an episode (alert it, once)."""
        if refused:
            if self.since is None:
                self.since = now
                return True
            return False
        if self.since is not None and used < limit * self.clear_below:
            self.since = None
        return False
