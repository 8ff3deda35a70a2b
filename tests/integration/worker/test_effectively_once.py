"""Every update applied once in effect: replays, redeliveries, crashes and rebalances never
apply anything twice or lose anything. The oracle is the pure lifecycle folded over the
internal topic — what stage 2 must have applied, each record exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from processor.worker.stage1 import stage1_group
from schemas.alerts import Alert
from tests.conftest import StackSlice
from tests.integration.worker.harness import (
    Feeder,
    Worker,
    comparable,
    db_sessions,
    eventually,
    internal_progress,
    policy_for,
    read_topic,
    replay,
)
from tests.integration.worker.traffic import stories

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def inputs_consumed(env: StackSlice, app_id: str) -> bool:
    """Stage 1's consumer group (``<app id>.stage1``) has committed up to the end of every
    input topic."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    security = env.kafka_security.client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, **security)
    consumer = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, **security)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(stage1_group(app_id))
        topics = [
            env.topic(t)
            for t in ("genesys.conversations", "chat.snapshots", "chat.session-commands")
        ]
        # From the broker's description of each topic: a fresh client's metadata cache is
        # empty, and with no partition every input looked consumed (with no worker at all).
        described = await admin.describe_topics(topics)
        parts = [
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        ]
        # Never vacuous: a client that knew no partition would call every input consumed.
        assert len(parts) >= len(topics), "every input topic has partitions"
        ends = await consumer.end_offsets(parts)
        return all(
            ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in parts
        )
    finally:
        await consumer.stop()
        await admin.close()


async def settled(
    env: StackSlice, app_id: str, worker: Worker | None = None, timeout: float = 120
) -> None:
    """Stage 1 consumed every input and stage 2 applied every internal record."""

    async def done() -> bool:
        if not await inputs_consumed(env, app_id):
            return False
        applied, total = await internal_progress(env, app_id)
        return total > 0 and applied == total

    async def stable() -> bool:
        # Drained twice, 2 s apart: a rebalance can briefly show every committed offset at its
        # end while the new owner has yet to forward what the old one left in flight.
        if not await done():
            return False
        await asyncio.sleep(2)
        return await done()

    await eventually(stable, timeout=timeout, what="the stream to settle", worker=worker)


async def assert_db_equals_replay(env: StackSlice) -> int:
    """The database equals the oracle; returns how many updates the internal topic holds."""
    records = await read_topic(env, "chatstate.session-updates")
    expected, updates = replay(records, policy_for())
    actual = await db_sessions(env)
    assert set(actual) == set(expected), "every session, no more, no less"
    for psid, want in expected.items():
        assert comparable(actual[psid]) == comparable(want), f"session {psid} differs"
    return updates


async def assert_no_duplicate_alerts(env: StackSlice) -> None:
    alerts = [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]
    # A record re-sent after a SIGKILL (the outbox publishes again what the dead worker had
    # produced but not yet forgotten) carries the same id, and consumers dedupe on it (the
    # contract: docs/architecture.md). Raised twice would be one condition under two ids.
    ids = {(a.dedup_key, a.status, a.id) for a in alerts}
    dup = [k for k, n in Counter((k, s) for k, s, _ in ids).items() if n > 1]
    assert dup == [], f"alerts raised twice: {dup[:5]}"


def now_minus(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


async def test_the_same_input_twice_leaves_the_same_database_and_no_duplicate_alerts(
    env: StackSlice, tmp_path: Path
) -> None:
    app_id = f"w-{uuid.uuid4().hex[:6]}"
    traffic = stories(40, seed=1, start=now_minus(1))
    worker = Worker(env, tmp_path / "w.log", app_id).start()
    try:
        async with Feeder(env) as feed:
            await feed.many(traffic)
            await settled(env, app_id, worker)
            first = {k: comparable(v) for k, v in (await db_sessions(env)).items()}
            await feed.many(traffic)  # the bridge re-sends everything
            await settled(env, app_id, worker)
        second = {k: comparable(v) for k, v in (await db_sessions(env)).items()}
        assert second == first
        assert len(first) == 40
        await assert_no_duplicate_alerts(env)
    finally:
        worker.stop()


async def test_a_worker_killed_mid_stream_restarts_without_loss_or_double_effect(
    env: StackSlice, tmp_path: Path
) -> None:
    app_id = f"w-{uuid.uuid4().hex[:6]}"
    sessions = 800
    traffic = stories(sessions, seed=2, start=now_minus(2))  # ~5,000 records
    async with Feeder(env) as feed:
        await feed.many(traffic)
    # Small batches: ~250 internal records, so the kill lands mid-stream even though the worker
    # drains ~10,000 records/s (with batches of 100 it had applied all of them by the kill).
    worker = Worker(env, tmp_path / "w.log", app_id, batch_max="20").start()
    try:

        async def partway() -> bool:
            applied, _ = await internal_progress(env, app_id)
            return applied > 20  # internal records, each a batch of up to ~20 updates

        await eventually(partway, what="some progress before the kill", worker=worker)
        worker.kill()
        applied_at_kill, _ = await internal_progress(env, app_id)
        worker.start()
        await settled(env, app_id, worker, timeout=180)
    finally:
        worker.stop()
    n = await assert_db_equals_replay(env)
    assert n >= len(traffic) - 50, "nearly every input became an update (a few are skipped)"
    _, internal_records = await internal_progress(env, app_id)
    assert applied_at_kill < internal_records, "the kill happened mid-stream"
    assert len(await db_sessions(env)) == sessions
    await assert_no_duplicate_alerts(env)


async def test_two_workers_share_partitions_and_one_stopping_moves_its_work_to_the_other(
    env: StackSlice, tmp_path: Path
) -> None:
    app_id = f"w-{uuid.uuid4().hex[:6]}"
    a = Worker(env, tmp_path / "a.log", app_id).start()
    b = Worker(env, tmp_path / "b.log", app_id).start()
    traffic = stories(300, seed=3, start=now_minus(1))
    try:

        async def both_assigned() -> bool:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=env.kafka_bootstrap, **env.kafka_security.client_options()
            )
            await admin.start()
            try:
                [group] = await admin.describe_consumer_groups([app_id])
                members = (
                    group.to_object()["groups"][0]["members"] if hasattr(group, "to_object") else []
                )
                return len(members) == 2
            finally:
                await admin.close()

        await eventually(both_assigned, timeout=90, what="two members in the group")
        async with Feeder(env) as feed:
            half = len(traffic) // 2
            await feed.many(traffic[:half])
            await asyncio.sleep(3)
            a.stop()  # a rebalance moves a's partitions to b
            await feed.many(traffic[half:])
        await settled(env, app_id, b, timeout=180)
    finally:
        a.stop()
        b.stop()
    await assert_db_equals_replay(env)
    assert len(await db_sessions(env)) == 300
    await assert_no_duplicate_alerts(env)
