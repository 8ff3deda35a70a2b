"""Token buckets: a burst goes through, then one request per refill; the wait named is the wait
needed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.api import ratelimit
from processor.api.ratelimit import TokenBuckets


def test_a_burst_passes_then_the_next_request_waits_for_a_refill() -> None:
    buckets = TokenBuckets(rate_per_s=0.5, burst=3)
    assert [buckets.take("a", 100.0) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a", 100.0) == 2  # one token every 2 s
    assert buckets.take("a", 102.0) == 0
    assert buckets.take("b", 102.0) == 0  # keys have their own buckets


def test_a_refused_request_takes_nothing() -> None:
    buckets = TokenBuckets(rate_per_s=1.0, burst=1)
    assert buckets.take("a", 0.0) == 0
    for _ in range(10):
        assert buckets.take("a", 0.5) == 1
    assert buckets.take("a", 1.0) == 0


@given(rate=st.floats(0.01, 100), burst=st.integers(1, 50),
       gaps=st.lists(st.floats(0, 5), min_size=1, max_size=200))
def test_never_more_than_burst_plus_rate_times_elapsed_pass(
    rate: float, burst: int, gaps: list[float]
) -> None:
    buckets = TokenBuckets(rate, burst)
    now, passed = 0.0, 0
    for gap in gaps:
        now += gap
        passed += buckets.take("k", now) == 0
    assert passed <= burst + rate * now + 1e-6


@given(rate=st.floats(0.01, 100), burst=st.integers(1, 50), spent=st.integers(0, 60))
def test_waiting_the_retry_after_it_names_is_enough(rate: float, burst: int, spent: int) -> None:
    buckets = TokenBuckets(rate, burst)
    wait = 0
    for _ in range(burst + spent):
        wait = buckets.take("k", 0.0)
    if wait:
        assert buckets.take("k", float(wait)) == 0


def test_idle_full_buckets_are_forgotten_when_there_are_too_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "_MAX_KEYS", 10)
    buckets = TokenBuckets(rate_per_s=1.0, burst=1)
    for i in range(10):
        buckets.take(str(i), 0.0)
    buckets.take("late", 100.0)  # everyone else refilled long ago
    assert len(buckets) == 1
