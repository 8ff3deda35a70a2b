"""The worker's shells on the in-memory storage port and a fake producer: stage 1 routes, packs
and parks, stage 2 applies with positions inside records, one bad update is dead-lettered alone.
No Kafka, no PostgreSQL (the integration tests run the same paths on the real servers)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processor.core.internal_records import decode, encode
from processor.core.lifecycle import LifecyclePolicy
from processor.core.route import CONVERSATIONS, SNAPSHOTS, Inbound
from processor.settings import Settings
from processor.worker.memory_storage import MemoryStorage
from processor.worker.runtime import UPDATE_INDEX_HEADER, RawUpdate, Runtime
from schemas.commands import CloseSession, SessionUpdate
from schemas.session import SessionStatus
from tests.integration.worker.harness import conversation_event, snapshot_body

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


@dataclass
class Sent:
    topic: str
    partition: int | None
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class _Meta:
    partition: int
    offset: int


class FakeProducer:
    """What the runtime uses of ``AIOKafkaProducer``: every send is acknowledged at once."""

    def __init__(self, partitions: int = 6) -> None:
        self.partitions = partitions
        self.sent: list[Sent] = []
        self._next: dict[tuple[str, int], int] = {}
        self.client = self

    async def fetch_all_metadata(self) -> None:
        return None

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[_Meta]:
        p = partition if partition is not None else 0
        offset = self._next.get((topic, p), 0)
        self._next[(topic, p)] = offset + 1
        self.sent.append(Sent(topic, partition, offset, key, value, list(headers or [])))
        done: asyncio.Future[_Meta] = asyncio.get_running_loop().create_future()
        done.set_result(_Meta(p, offset))
        return done

    async def send_and_wait(self, topic: str, value: bytes, **kw: Any) -> _Meta:
        return await (await self.send(topic, value, **kw))

    async def stop(self) -> None:
        return None

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


@pytest.fixture
def shell() -> tuple[Runtime, MemoryStorage, FakeProducer]:
    settings = Settings(app_id="unit", topic_prefix="u.")
    producer = FakeProducer()
    storage = MemoryStorage(
        LifecyclePolicy(ttl=settings.session_ttl, retention=settings.retention),
        sessions_topic="u.chat.sessions",
        alerts_topic="u.chat.alerts",
    )
    rt = Runtime(
        settings,
        "unused:9092",
        "postgresql://unused",
        producer=producer,  # type: ignore[arg-type]
        storage=storage,
    )
    rt.handoff.own(rt.updates_topic, set(range(6)))
    return rt, storage, producer


def event(conv: uuid.UUID, psid: uuid.UUID | None, state: str, offset: int) -> Inbound:
    body = json.dumps(conversation_event(conv, psid, state, NOW)).encode()
    return Inbound(CONVERSATIONS, "u.genesys.conversations", 0, offset, conv.bytes, body)


def internal(rt: Runtime, producer: FakeProducer) -> list[RawUpdate]:
    return [
        (s.topic, s.partition or 0, s.offset, s.key, s.value) for s in producer.on(rt.updates_topic)
    ]


async def test_a_batch_becomes_one_record_per_partition_and_stage_2_applies_it_once(
    shell: tuple[Runtime, MemoryStorage, FakeProducer],
) -> None:
    rt, storage, producer = shell
    sessions = [uuid.uuid4() for _ in range(12)]
    await rt.stage1([event(uuid.uuid4(), psid, "connected", n) for n, psid in enumerate(sessions)])
    records = producer.on(rt.updates_topic)
    assert len({r.partition for r in records}) == len(records) <= 6
    assert sum(len(decode(r.value)) for r in records) == 12

    await rt.stage2(internal(rt, producer))
    assert set(storage.sessions) == set(sessions)
    versions = {p: s.version for p, s in storage.sessions.items()}
    await rt.stage2(internal(rt, producer))  # a redelivery: every position is behind
    assert {p: s.version for p, s in storage.sessions.items()} == versions
    assert all(pos[1] == 0 for pos in storage.positions.values()), "records fully applied"


async def test_an_event_before_its_session_is_parked_then_forwarded_ahead_of_the_revealing_one(
    shell: tuple[Runtime, MemoryStorage, FakeProducer],
) -> None:
    rt, storage, producer = shell
    conv, psid = uuid.uuid4(), uuid.uuid4()
    await rt.stage1([event(conv, None, "connected", 0)])
    assert conv in storage.unmapped_rows
    assert not producer.on(rt.updates_topic)

    snap = json.dumps(snapshot_body(psid, conv, NOW, 1)).encode()
    await rt.stage1([Inbound(SNAPSHOTS, "u.chat.snapshots", 0, 0, None, snap)])
    await rt.stage2(internal(rt, producer))  # the snapshot maps the conversation
    await rt.stage1([event(conv, None, "disconnected", 1)])
    forwarded = [d.update for r in producer.on(rt.updates_topic) for d in decode(r.value)]
    assert [u.source_id for u in forwarded if u is not None][-2:] == [
        "u.genesys.conversations:0:0",
        "u.genesys.conversations:0:1",
    ], "the parked event goes first"
    assert conv not in storage.unmapped_rows


async def test_one_bad_update_of_a_record_is_dead_lettered_alone_and_its_neighbours_applied(
    shell: tuple[Runtime, MemoryStorage, FakeProducer],
) -> None:
    rt, storage, producer = shell
    a, b = uuid.uuid4(), uuid.uuid4()

    def close(psid: uuid.UUID, n: int) -> bytes:
        return SessionUpdate(
            persistent_session_id=psid,
            source_id=f"in:0:{n}",
            received_at=NOW,
            command=CloseSession(),
        ).to_json_bytes()

    await rt.stage1(
        [event(uuid.uuid4(), a, "connected", 0), event(uuid.uuid4(), b, "connected", 1)]
    )
    await rt.stage2(internal(rt, producer))
    record = encode([close(a, 2), b'{"persistentSessionId": "not a uuid"}', close(b, 3)])
    await rt.stage2([(rt.updates_topic, 5, 100, None, record)])

    assert storage.sessions[a].status is SessionStatus.CLOSED
    assert storage.sessions[b].status is SessionStatus.CLOSED
    [dead] = producer.on(rt.catalog.name("chat.dlq"))
    assert json.loads(dead.value) == {"persistentSessionId": "not a uuid"}
    assert (UPDATE_INDEX_HEADER, b"1") in dead.headers
    assert storage.positions[(rt.updates_topic, 5)] == (101, 0)


async def test_a_replay_resumes_inside_a_record(
    shell: tuple[Runtime, MemoryStorage, FakeProducer],
) -> None:
    rt, storage, _ = shell
    a = uuid.uuid4()
    first = SessionUpdate(
        persistent_session_id=a, source_id="in:0:1", received_at=NOW, command=CloseSession()
    )
    storage.positions[(rt.updates_topic, 2)] = (7, 1)  # update 0 of record 7 was applied
    record = encode([first.to_json_bytes(), first.to_json_bytes()])
    await rt.stage2([(rt.updates_topic, 2, 7, None, record)])
    assert storage.positions[(rt.updates_topic, 2)] == (8, 0)
    assert storage.sessions[a].version == 1, "only the second update of the record applied"
