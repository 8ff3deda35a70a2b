"""A request budget: a token bucket kept under Genesys's per-token rate limit (300 requests a
minute by default), shared by every call the bridge makes with one token.

Why a bucket and not only reacting to 429: a 429 costs a round trip and, in a storm, every
caller waiting on the same ``Retry-After``; spending from a budget below the limit means the
limit is rarely met at all. A 429 still pauses the whole budget (:meth:`pause_for`), since the
limit is per token, not per caller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["RequestBudget"]


class RequestBudget:
    def __init__(
        self,
        per_minute: float = 240.0,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self.spent = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def pause_for(self, seconds: float) -> None:
        """Genesys said ``Retry-After``: nobody spends until then."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    async def acquire(self) -> None:
        """Wait until one request may be sent (in arrival order: the lock is FIFO)."""
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    self.spent += 1
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)
