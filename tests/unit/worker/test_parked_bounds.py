"""The bounds on parking, without servers: the in-memory index forgets by count and age, a
full table refuses new conversations (never the ones already parked), and an overflow
episode alerts once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.worker.parked import OverflowWatch, ParkedIndex, admit

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=i + 1) for i in range(n)]


def test_the_index_evicts_the_oldest_beyond_its_count() -> None:
    index = ParkedIndex(3, timedelta(hours=1))
    a, b, c, d = ids(4)
    index.update([a, b, c])
    index.update([d])
    assert len(index) == 3
    assert a not in index
    assert all(x in index for x in (b, c, d))
    assert index.evicted == 1


def test_the_index_forgets_entries_older_than_its_age() -> None:
    clock = Clock()
    index = ParkedIndex(100, timedelta(seconds=60), clock)
    a, b = ids(2)
    index.update([a])
    clock.now += 30
    index.update([b])
    clock.now += 31  # a is 61 s old, b 31 s
    assert a not in index
    assert b in index
    assert len(index) == 1


def test_adding_a_known_id_again_keeps_its_first_time() -> None:
    # The table expires by first_seen_at; the index must not keep an id alive longer.
    clock = Clock()
    index = ParkedIndex(100, timedelta(seconds=60), clock)
    [a] = ids(1)
    index.update([a])
    clock.now += 50
    index.update([a])
    clock.now += 11
    assert a not in index


def test_released_ids_leave_the_index() -> None:
    index = ParkedIndex(10, timedelta(hours=1))
    a, b = ids(2)
    index.update([a, b])
    index.difference_update([a, uuid.uuid4()])
    assert a not in index
    assert b in index


def test_an_index_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ParkedIndex(0, timedelta(hours=1))


@given(
    size=st.integers(1, 20),
    steps=st.lists(
        st.tuples(st.lists(st.integers(0, 60), max_size=10), st.floats(0, 30)), max_size=30
    ),
)
def test_the_index_never_exceeds_its_bounds_and_holds_only_recent_additions(
    size: int, steps: list[tuple[list[int], float]]
) -> None:
    clock = Clock()
    index = ParkedIndex(size, timedelta(seconds=45), clock)
    first_added: dict[uuid.UUID, float] = {}
    for batch, advance in steps:
        clock.now += advance
        keys = [uuid.UUID(int=k + 1) for k in batch]
        for k in keys:
            if k not in index:
                first_added[k] = clock.now
        index.update(keys)
        assert len(index) <= size
        for k in list(first_added):
            if k in index:
                assert clock.now - first_added[k] < 45


def test_a_table_with_room_takes_every_new_conversation() -> None:
    a, b = ids(2)
    got = admit([a, b, a], [], used=0, limit=10)
    assert got.admitted == {a, b}
    assert got.refused == frozenset()


def test_a_full_table_refuses_new_conversations_but_not_parked_ones() -> None:
    old, new1, new2, new3 = ids(4)
    got = admit([new1, old, new2, new3], [old], used=9, limit=10)
    assert got.admitted == {old, new1}  # one row of room: the first new one in arrival order
    assert got.refused == {new2, new3}


def test_a_table_over_its_bound_refuses_every_new_conversation() -> None:
    # A bound lowered by configuration: nothing new until the retention brings it down.
    old, new = ids(2)
    got = admit([new, old], [old], used=50, limit=10)
    assert got.admitted == {old}
    assert got.refused == {new}


@given(
    batch=st.lists(st.integers(0, 30), max_size=40),
    parked=st.sets(st.integers(0, 30)),
    used=st.integers(0, 20),
    limit=st.integers(1, 20),
)
def test_admission_never_grows_the_table_past_its_bound(
    batch: list[int], parked: set[int], used: int, limit: int
) -> None:
    cids = [uuid.UUID(int=i + 1) for i in batch]
    already = {uuid.UUID(int=i + 1) for i in parked}
    got = admit(cids, already, used, limit)
    new = got.admitted - already
    assert used + len(new) <= max(limit, used)
    assert got.admitted | got.refused == set(cids)
    assert not got.admitted & got.refused
    assert already & set(cids) <= got.admitted


def test_an_overflow_alerts_once_per_episode() -> None:
    watch = OverflowWatch()
    assert watch.observe(refused=5, used=100, limit=100, now=T0) is True
    assert watch.observe(refused=7, used=100, limit=100, now=T0 + timedelta(seconds=1)) is False
    # Room comes back a little (the retention freed a few rows): still the same episode.
    assert watch.observe(refused=0, used=95, limit=100, now=T0 + timedelta(seconds=2)) is False
    assert watch.observe(refused=3, used=100, limit=100, now=T0 + timedelta(seconds=3)) is False
    assert watch.since == T0
    # Well below the bound: the episode is over; the next refusal is a new one.
    assert watch.observe(refused=0, used=50, limit=100, now=T0 + timedelta(minutes=5)) is False
    assert watch.since is None
    assert watch.observe(refused=1, used=100, limit=100, now=T0 + timedelta(minutes=9)) is True
