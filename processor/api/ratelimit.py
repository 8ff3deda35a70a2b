"""Token buckets, in process: how the API limits ``/oauth/token`` and session issuing.

Each key (a client id, a customer hash, or one shared key for an overall ceiling) has a bucket
of ``burst`` tokens refilled at ``rate_per_s``; a request takes one or is told how long to wait
(429 + ``Retry-After``). Pure: the caller passes ``now`` (monotonic seconds), so the arithmetic
is tested without a clock.

The buckets live in each API process: with N processes (``CHATSTATE_API_WORKERS``) and R
replicas a caller can get up to N x R times the configured rate. That is what they are for:
bounding the CPU one caller can make a process spend (Argon2 verifications, issuing writes) and
slowing enumeration, not exact global quotas, which would need a shared store on every request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TokenBuckets"]

_MAX_KEYS = 100_000  # beyond this, buckets that have refilled completely are forgotten


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> int:
        """0 when ``key`` may go ahead (a token taken); otherwise whole seconds until it may
        (nothing taken)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_KEYS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_s)
            bucket.at = max(bucket.at, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate_per_s))

    def _forget_full(self, now: float) -> None:
        """Drop buckets that would be full by now: forgetting them changes no answer."""
        refill_s = self.burst / self.rate_per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < refill_s}
        if len(self._buckets) >= _MAX_KEYS:  # all busy: an attacker spraying keys
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)
