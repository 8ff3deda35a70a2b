"""The internal topic's record format (``schemas/updates.py``): how stage 1 packs a batch of
updates per partition, and how every reader gets each update back with its place."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from processor.core.internal_records import decode, encode, pack
from processor.core.partitioning import murmur2, partition_for
from processor.errors import OutputTooLarge
from schemas.commands import CloseSession, SessionUpdate
from schemas.updates import SessionUpdateBatch

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOPIC = "chatstate.session-updates"


def update(psid: uuid.UUID, n: int, reason: str = "requested") -> SessionUpdate:
    return SessionUpdate(
        persistent_session_id=psid,
        source_id=f"in:0:{n}",
        received_at=NOW,
        command=CloseSession(reason=reason),
    )


@given(st.binary(max_size=64))
def test_the_partition_hash_is_kafkas_murmur2(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


def test_a_session_lands_where_a_keyed_record_would() -> None:
    from aiokafka.partitioner import DefaultPartitioner

    for _ in range(200):
        key = str(uuid.uuid4()).encode()
        want = DefaultPartitioner()(key, list(range(6)), list(range(6)))
        assert partition_for(key, 6) == want


@given(st.lists(st.integers(0, 7), min_size=1, max_size=60), st.sampled_from([1, 3, 6]))
def test_packing_keeps_every_update_once_in_order_on_its_sessions_partition(
    sessions: list[int], partitions: int
) -> None:
    ids = [uuid.UUID(int=i + 1) for i in range(8)]
    updates = [update(ids[s], n) for n, s in enumerate(sessions)]
    records = pack(updates, partitions, TOPIC, 900_000)
    assert len({r.partition for r in records}) == len(records), "one record per partition"
    got: list[SessionUpdate] = []
    for r in records:
        decoded = decode(r.value)
        assert [d.index for d in decoded] == list(range(len(r.updates)))
        assert all(d.count == len(r.updates) for d in decoded)
        assert [d.update for d in decoded] == list(r.updates), "a JSON round trip is exact"
        for d in decoded:
            assert d.update is not None
            assert partition_for(str(d.update.persistent_session_id).encode(), partitions) == (
                r.partition
            )
            got.append(d.update)
    assert sorted(u.source_id for u in got) == sorted(u.source_id for u in updates)
    for psid in ids:  # a session's updates keep their order
        assert [u.source_id for u in got if u.persistent_session_id == psid] == [
            u.source_id for u in updates if u.persistent_session_id == psid
        ]


def test_a_record_is_a_versioned_batch_the_contract_reads() -> None:
    psid = uuid.uuid4()
    [r] = pack([update(psid, 1), update(psid, 2)], 6, TOPIC, 900_000)
    batch = SessionUpdateBatch.model_validate_json(r.value)
    assert batch.version == 2
    assert [u.source_id for u in batch.updates] == ["in:0:1", "in:0:2"]
    assert r.key == str(psid).encode()


def test_records_are_split_at_the_size_cap_and_a_lone_update_over_it_raises() -> None:
    psid = uuid.uuid4()
    updates = [update(psid, n, reason="x" * 1000) for n in range(30)]
    records = pack(updates, 6, TOPIC, 12_000)
    assert len(records) > 1
    assert all(len(r.value) + len(r.key) <= 12_000 for r in records)
    assert sum(len(r.updates) for r in records) == 30
    with pytest.raises(OutputTooLarge):
        pack([update(psid, 0, reason="x" * 20_000)], 6, TOPIC, 12_000)


def test_a_version_1_record_is_one_update() -> None:
    u = update(uuid.uuid4(), 5)
    [d] = decode(u.to_json_bytes())
    assert d.update == u
    assert (d.index, d.count, d.last) == (0, 1, True)


def test_one_bad_update_is_told_apart_from_its_neighbours() -> None:
    psid = uuid.uuid4()
    good = [update(psid, n).to_json_bytes() for n in range(3)]
    value = encode([good[0], b'{"persistentSessionId": "not a uuid"}', good[1], good[2]])
    decoded = decode(value)
    assert [d.update is None for d in decoded] == [False, True, False, False]
    bad = decoded[1]
    assert (bad.index, bad.count) == (1, 4)
    assert json.loads(bad.raw) == {"persistentSessionId": "not a uuid"}
    assert bad.error == "ValidationError"


@pytest.mark.parametrize(
    "value",
    [b"", b"not json", b"[1, 2]", b'{"version": 3, "updates": [{}]}', b'{"version": 2}', b"\xff"],
)
def test_an_unreadable_record_is_one_undecodable_entry_never_an_exception(value: bytes) -> None:
    [d] = decode(value)
    assert d.update is None
    assert (d.index, d.count) == (0, 1)
    assert d.raw == value
    assert d.error
