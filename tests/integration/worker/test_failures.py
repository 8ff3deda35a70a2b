"""What goes wrong in production: the database disappears for a while, and records arrive that
cannot be processed. Nothing is lost, the stream goes on, on-call hears about it once."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processor.devstack.postgres import PostgresNode
from processor.devstack.state import PostgresState
from processor.migrate import migrate
from processor.settings import Settings
from processor.worker.outbox import OutboxRecord
from processor.worker.runtime import Runtime
from schemas.alerts import Alert, AlertStatus, AlertType
from schemas.dlq import DeadLetterInfo
from tests.conftest import StackSlice
from tests.integration.worker.harness import (
    Feeder,
    Worker,
    conversation_event,
    db_sessions,
    eventually,
    read_topic,
    snapshot_body,
)
from tests.integration.worker.test_effectively_once import (
    assert_db_equals_replay,
    settled,
)
from tests.integration.worker.traffic import stories

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class PrivatePostgres:
    """A migrated PostgreSQL of the test's own, so stopping it disturbs no other test."""

    node: PostgresNode
    state: PostgresState

    @property
    def url(self) -> str:
        return self.node.url(self.state)

    async def stop(self) -> None:
        await asyncio.to_thread(self.node.stop, self.state)

    async def start(self) -> None:
        self.state = await asyncio.to_thread(self.node.start, self.state)


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    state = Path(f"/tmp/chatstate-pgdown-{uuid.uuid4().hex[:8]}")  # noqa: S108
    node = PostgresNode(Settings(state_dir=state))
    pg = PrivatePostgres(node, await asyncio.to_thread(node.start, PostgresState()))
    try:
        await migrate(pg.url)
        yield pg
    finally:
        await pg.stop()
        shutil.rmtree(state, ignore_errors=True)


async def _degraded_alerts(
    env: StackSlice, status: AlertStatus = AlertStatus.FIRING
) -> list[Alert]:
    alerts = [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]
    return [a for a in alerts if a.type is AlertType.PERSISTENCE_DEGRADED and a.status is status]


async def test_postgres_down_for_20s_loses_nothing_and_alerts_once(
    env: StackSlice, tmp_path: Path
) -> None:
    async with private_postgres() as pg:
        private = StackSlice(env.kafka_bootstrap, pg.url, env.topic_prefix, env.catalog)
        app_id = f"w-{uuid.uuid4().hex[:6]}"
        worker = Worker(private, tmp_path / "w.log", app_id).start()
        traffic = stories(150, seed=4, start=datetime.now(UTC) - timedelta(hours=1))
        try:
            async with Feeder(private) as feed:
                await feed.many(traffic[:300])
                await eventually(
                    lambda: _has_sessions(private), what="first sessions", worker=worker
                )
                await pg.stop()
                await feed.many(traffic[300:])  # keeps arriving while the database is down
                await asyncio.sleep(20)
                assert worker.alive(), "the worker waits; it does not crash"
                await pg.start()
            await settled(private, app_id, worker, timeout=180)
        finally:
            worker.stop()
        await assert_db_equals_replay(private)
        assert len(await db_sessions(private)) == 150
        degraded = await _degraded_alerts(env)
        assert len(degraded) == 1, [a.dedup_key for a in degraded]
        [ended] = await _degraded_alerts(env, AlertStatus.RESOLVED)  # the outage's end, once
        assert ended.dedup_key == degraded[0].dedup_key


async def test_a_database_outage_while_publishing_the_outbox_alerts_and_forgets_nothing(
    env: StackSlice,
) -> None:
    # The outbox is produced to Kafka, then deleted from PostgreSQL: a database that is gone
    # at the delete is a database outage (alerted, waited for), not a Kafka failure.
    async with private_postgres() as pg:
        rt = Runtime(env.settings(app_id=f"w-{uuid.uuid4().hex[:6]}"), env.kafka_bootstrap,
                     pg.url)
        await rt.start()
        try:
            topic = env.topic("chat.sessions")
            ids = [await rt.pool.fetchval(
                "INSERT INTO outbox (topic, key, value) VALUES ($1, $2, $3) RETURNING outbox_id",
                topic, f"k{i}".encode(), b"{}") for i in range(3)]
            records = [OutboxRecord(i, topic, f"k{n}".encode(), b"{}") for n, i in enumerate(ids)]
            await pg.stop()
            publishing = asyncio.create_task(rt.publish(records))
            degraded = await eventually(lambda: _degraded_alerts(env), timeout=60,
                                        what="a persistence_degraded alert")
            assert len(degraded) == 1
            assert not publishing.done(), "waits for the database instead of giving up"
            await pg.start()
            await asyncio.wait_for(publishing, 60)
            assert await rt.pool.fetchval("SELECT count(*) FROM outbox") == 0
            [ended] = await _degraded_alerts(env, AlertStatus.RESOLVED)
            assert ended.dedup_key == degraded[0].dedup_key
        finally:
            await rt.stop()
        sent = [r.key for r in await read_topic(env, "chat.sessions")]
        assert sorted(sent) == [b"k0", b"k1", b"k2"]


async def _has_sessions(env: StackSlice) -> bool:
    return len(await db_sessions(env)) > 5


async def test_poison_records_go_to_the_dead_letter_topic_and_the_stream_goes_on(
    env: StackSlice, tmp_path: Path
) -> None:
    app_id = f"w-{uuid.uuid4().hex[:6]}"
    t = datetime.now(UTC) - timedelta(minutes=30)
    before, after = uuid.uuid4(), uuid.uuid4()
    worker = Worker(env, tmp_path / "w.log", app_id).start()
    poison = [
        ("genesys.conversations", "k1", b"{not json"),
        (
            "genesys.conversations",
            "k2",
            json.dumps(
                {
                    "topicName": "v2.routing.queues.q.conversations.messages",
                    "version": "2",
                    "eventBody": {"participants": []},
                }
            ).encode(),
        ),
        (
            "chat.snapshots",
            "k3",
            json.dumps(
                {"persistentSessionId": "not-a-uuid", "timestamp": "x", "stateSnapshot": {}}
            ).encode(),
        ),
        ("chat.session-commands", "k4", b'{"command": {"type": "explode"}}'),
    ]
    try:
        async with Feeder(env) as feed:
            await feed.event(conversation_event(uuid.uuid4(), before, "connected", t))
            await feed.many(poison)
            await feed.snapshot(snapshot_body(after, None, t, 1))

            async def both_applied() -> bool:
                s = await db_sessions(env)
                return before in s and after in s

            await eventually(both_applied, what="the records around the poison", worker=worker)

            async def dead_letters() -> list[object]:
                recs = await read_topic(env, "chat.dlq")
                return recs if len(recs) >= len(poison) else []

            dlq = await eventually(dead_letters, what="dead letters", worker=worker)
    finally:
        worker.stop()
    by_key = {r.key: r for r in dlq}
    for topic, key, value in poison:
        r = by_key[key.encode()]
        assert r.value == value, "the original bytes, untouched"
        info = DeadLetterInfo.from_headers(list(r.headers))
        assert info.source_topic == env.topic(topic)
        assert info.stage == "normalise"
        assert info.reason, "says why"
    alerts = [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]
    assert any(a.type is AlertType.DEAD_LETTER for a in alerts)
