"""Which left-behind outbox records already reached Kafka, without servers: a record is found by
its key and JSON id (else key and bytes), looked for on the partition the producer's partitioner
picked, from its ``created_at`` less the margin; a partition the read did not finish leaves what
was not found there unsure (re-sent), never "never sent"."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from processor.worker.outbox import OutboxRecord
from processor.worker.sweep import Seen, identity, judge, places, start_times

T0 = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
PARTITIONS = {"chat.sessions": 6, "chat.alerts": 3, "chat.agent-context": 3}


def state(n: int, key: str = "k", topic: str = "chat.sessions") -> OutboxRecord:
    value = json.dumps({"id": str(uuid.UUID(int=n)), "version": n}).encode()
    return OutboxRecord(n, topic, key.encode(), value, T0)


def everything_read(records: list[OutboxRecord]) -> Seen:
    seen = Seen.seeking(records)
    seen.complete |= {(t, p) for t, n in PARTITIONS.items() for p in range(n)}
    return seen


def test_a_record_is_known_by_its_key_and_json_id_not_its_bytes() -> None:
    a = json.dumps({"id": "x", "runbook": "docs/runbook.md#a"}).encode()
    b = json.dumps({"id": "x", "runbook": "https://wiki/docs/runbook.md#a"}).encode()
    assert identity(b"k", a) == identity(b"k", b) == (b"k", "x")
    assert identity(b"k", a) != identity(b"other", a)


def test_records_without_an_id_are_known_by_key_and_bytes() -> None:
    assert identity(b"k", None) == (b"k", None)  # a tombstone
    assert identity(b"k", b'{"conversationId":"c"}') == (b"k", b'{"conversationId":"c"}')
    assert identity(b"k", b"\xff not json") == (b"k", b"\xff not json")
    assert identity(b"k", b'{"id": 7}') == (b"k", b'{"id": 7}')  # an id that is not a string
    assert identity(b"k", None) != identity(b"k", b"")


@given(st.binary(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_the_partition_is_the_one_aiokafkas_default_partitioner_picks(key: bytes, n: int) -> None:
    rec = OutboxRecord(1, "t", key, b"v")
    picked = DefaultPartitioner()(key, list(range(n)), list(range(n)))
    assert places(rec, {"t": n}) == [("t", picked)]


def test_a_record_without_a_key_may_be_on_any_partition() -> None:
    rec = OutboxRecord(1, "chat.alerts", None, b"v")
    assert places(rec, PARTITIONS) == [("chat.alerts", p) for p in range(3)]


def test_the_read_starts_at_the_earliest_row_of_each_partition_less_the_margin() -> None:
    early = OutboxRecord(1, "chat.alerts", b"k", b"a", datetime(2026, 12, 2, 13, 0, 30, tzinfo=UTC))
    late = OutboxRecord(2, "chat.alerts", b"k", b"b", datetime(2026, 12, 2, 13, 5, tzinfo=UTC))
    [place] = places(early, PARTITIONS)
    starts = start_times([late, early], PARTITIONS, margin_s=30)
    assert starts == {place: int(T0.timestamp() * 1000)}


def test_a_row_of_unknown_age_is_looked_for_from_the_beginning() -> None:
    rec = OutboxRecord(1, "chat.alerts", b"k", b"a")
    assert set(start_times([rec], PARTITIONS, margin_s=30).values()) == {0}


def test_found_records_are_forgotten_the_rest_sent() -> None:
    sent, unsent, tombstone = (
        state(1),
        state(2, "other"),
        OutboxRecord(3, "chat.sessions", b"t", None),
    )
    seen = everything_read([sent, unsent, tombstone])
    for r in (sent, tombstone, state(9)):  # state 9: on the topic, not left behind
        seen.add(r.topic, r.key, r.value)
    verdict = judge([sent, unsent, tombstone], PARTITIONS, seen)
    assert verdict.on_kafka == [sent, tombstone]
    assert verdict.missing == [unsent]
    assert verdict.unsure == []
    assert verdict.to_send == [unsent]


def test_the_same_id_on_another_topic_is_not_the_record() -> None:
    rec = state(1)
    seen = everything_read([rec])
    seen.add("chat.alerts", rec.key, rec.value)
    assert judge([rec], PARTITIONS, seen).missing == [rec]


def test_not_found_where_the_read_stopped_short_is_unsure_and_sent() -> None:
    rec = state(1)
    seen = Seen.seeking([rec])  # no partition read to its end
    verdict = judge([rec], PARTITIONS, seen)
    assert verdict.unsure == [rec]
    assert verdict.to_send == [rec]
    seen.add(rec.topic, rec.key, rec.value)  # found before the bound: known, however far it got
    assert judge([rec], PARTITIONS, seen).on_kafka == [rec]


def test_records_whose_key_is_not_sought_are_not_decoded() -> None:
    seen = Seen.seeking([state(1)])
    seen.add("chat.sessions", b"unsought", b"not even json")
    assert seen.found == set()


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 3), st.booleans(), st.booleans()),
        max_size=30,
    )
)
def test_only_records_read_or_superseded_are_forgotten_and_only_unread_partitions_unsure(
    rows: list[tuple[int, int, bool, bool]],
) -> None:
    # (key, version, produced before the crash, its partition read to the end)
    records = [state(i * 10 + v, f"k{k}") for i, (k, v, _, _) in enumerate(rows)]
    seen = Seen.seeking(records)
    for rec, (_, _, produced, read_all) in zip(records, rows, strict=True):
        if produced:
            seen.add(rec.topic, rec.key, rec.value)
        if read_all:
            seen.complete.update(places(rec, PARTITIONS))
    verdict = judge(records, PARTITIONS, seen)
    newest: dict[bytes | None, int] = {}
    for rec, (_, _, produced, _) in zip(records, rows, strict=True):
        if produced:
            v = json.loads(rec.value or b"")["version"]
            newest[rec.key] = max(newest.get(rec.key, -1), v)
    for rec, (_, _, produced, _) in zip(records, rows, strict=True):
        complete = all(p in seen.complete for p in places(rec, PARTITIONS))
        superseded = newest.get(rec.key, -1) > json.loads(rec.value or b"")["version"]
        if produced or superseded:  # on the topic, or a newer state of its session is
            assert rec in verdict.on_kafka
        elif complete:
            assert rec in verdict.missing
        else:
            assert rec in verdict.unsure
    assert len(verdict.on_kafka) + len(verdict.to_send) == len(records)


def test_a_left_behind_state_older_than_one_already_published_is_forgotten_not_sent() -> None:
    # A worker died before producing version 5; the partition's next owner published 6.
    stale, newer_still = state(5, "s1"), state(8, "s2")
    seen = everything_read([stale, newer_still])
    seen.add("chat.sessions", b"s1", state(6, "s1").value)
    seen.add("chat.sessions", b"s2", state(7, "s2").value)
    verdict = judge([stale, newer_still], PARTITIONS, seen)
    assert verdict.on_kafka == [stale]
    assert verdict.to_send == [newer_still]


def test_versions_only_compare_records_of_the_same_topic_and_key() -> None:
    alert = state(1, "s1", topic="chat.alerts")
    seen = everything_read([alert])
    seen.add("chat.sessions", b"s1", state(9, "s1").value)
    seen.add("chat.alerts", b"other", state(9, "other", topic="chat.alerts").value)
    assert judge([alert], PARTITIONS, seen).missing == [alert]
