"""A flood of unmapped conversation ids on the real servers: memory, the parked table and the
alert stream stay within their bounds, and the stream goes on.

The worker's shell is driven in-process (stage 1, the leader's scans, stage 2), so the test can
look at the in-memory index as well as at PostgreSQL and ``chat.alerts``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from processor.core.route import CONVERSATIONS, Inbound
from processor.sim.genesys import detail_event
from processor.worker.runtime import Runtime
from processor.worker.timers import run_scans
from schemas.alerts import Alert, AlertType
from schemas.observation import ConversationState
from tests.conftest import StackSlice
from tests.integration.worker.harness import (
    connect,
    conversation_event,
    db_sessions,
    internal_updates,
    read_topic,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FLOOD = 20_000
LIMIT = 2_000  # CHATSTATE_PARKED_MAX_CONVERSATIONS
CAP = 5  # CHATSTATE_SCAN_ALERTS_MAX_PER_ROUND
BATCH = 500


@pytest.fixture
async def runtime(env: StackSlice) -> AsyncIterator[Runtime]:
    rt = Runtime(
        env.settings(
            app_id=f"w-{uuid.uuid4().hex[:6]}",
            parked_max_conversations=LIMIT,
            scan_alerts_max_per_round=CAP,
            orphan_grace=timedelta(0),
        ),
        env.kafka_bootstrap,
        env.database_url,
    )
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


def unmapped_events(env: StackSlice, ids: Sequence[uuid.UUID], at: datetime) -> list[Inbound]:
    """Detail events carry no attributes: nothing says whose session these are."""
    topic = env.topic(CONVERSATIONS)
    return [
        Inbound(
            CONVERSATIONS,
            topic,
            0,
            offset,
            str(conv).encode(),
            json.dumps(
                detail_event(conv, "customer.start", at, uuid.uuid5(conv, "c"), "message", conv)
            ).encode(),
        )
        for offset, conv in enumerate(ids)
    ]


async def alerts_of(env: StackSlice, kind: AlertType) -> list[Alert]:
    alerts = [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]
    return [a for a in alerts if a.type is kind]


async def parked_rows(env: StackSlice) -> int:
    conn = await connect(env)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM unmapped_conversations"))
    finally:
        await conn.close()


async def test_a_flood_of_unmapped_ids_stays_bounded_alerts_in_moderation_and_the_stream_goes_on(
    env: StackSlice, runtime: Runtime
) -> None:
    rt = runtime
    started = time.monotonic()
    at = datetime.now(UTC) - timedelta(minutes=1)
    flood = [uuid.uuid4() for _ in range(FLOOD)]
    records = unmapped_events(env, flood, at)

    # The flood: memory and the table never pass their bound; new ids beyond it are refused.
    for i in range(0, FLOOD, BATCH):
        await rt.stage1(records[i : i + BATCH])
        assert len(rt.parked_here) <= LIMIT
    assert await parked_rows(env) == LIMIT
    assert len(rt.parked_here) == LIMIT
    refused = rt.metrics.registry.get_sample_value("chatstate_parked_refused_total")
    assert refused == FLOOD - LIMIT
    [overflow] = await alerts_of(env, AlertType.PARKED_OVERFLOW)
    assert overflow.details["limit"] == LIMIT
    # Events of an already parked conversation are still taken while the table is full.
    await rt.stage1(unmapped_events(env, flood[:1], at + timedelta(seconds=1)))
    conn = await connect(env)
    try:
        kept = await conn.fetchval(
            "SELECT jsonb_array_length(observations) FROM unmapped_conversations "
            "WHERE conversation_id = $1",
            flood[0],
        )
    finally:
        await conn.close()
    assert kept == 2

    # One scan round: CAP unmapped alerts one by one, then one aggregate for the rest.
    counts = await run_scans(rt)
    assert counts["unmapped"] == LIMIT
    unmapped = await alerts_of(env, AlertType.UNMAPPED_CONVERSATION)
    single = [a for a in unmapped if not a.details.get("aggregate")]
    [aggregate] = [a for a in unmapped if a.details.get("aggregate")]
    assert len(single) == CAP
    assert aggregate.details["count"] == LIMIT - CAP
    samples = aggregate.details["sampleConversationIds"]
    assert 0 < len(samples) <= 5
    assert {uuid.UUID(s) for s in samples} <= set(flood[:LIMIT])
    # The next round pages nothing again: every parked conversation was told once.
    await run_scans(rt)
    assert len(await alerts_of(env, AlertType.UNMAPPED_CONVERSATION)) == CAP + 1
    assert len(await alerts_of(env, AlertType.PARKED_OVERFLOW)) == 1

    # Expiry: conversations unmapped for longer than the retention are forgotten, with their
    # alert keys; younger ones stay.
    old = flood[1 : LIMIT // 2]
    conn = await connect(env)
    try:
        await conn.execute(
            "UPDATE unmapped_conversations SET first_seen_at = first_seen_at - $2::interval "
            "WHERE conversation_id = ANY($1::uuid[])",
            old,
            rt.settings.unmapped_retention + timedelta(minutes=1),
        )
        counts = await run_scans(rt)
        assert counts["expired_unmapped"] == len(old)
        left = {
            r[0] for r in await conn.fetch("SELECT conversation_id FROM unmapped_conversations")
        }
        assert left == {flood[0], *flood[LIMIT // 2 : LIMIT]}
        keys = await conn.fetchval(
            "SELECT count(*) FROM alert_log WHERE dedup_key = ANY($1::text[])",
            [f"unmapped_conversation:{c}" for c in old],
        )
        assert keys == 0
    finally:
        await conn.close()
    assert rt.metrics.registry.get_sample_value("chatstate_unmapped_expired_total") == len(old)

    # After the flood, ordinary traffic is applied: a new session, and a parked conversation
    # whose session is revealed (its parked events are forwarded ahead of the revealing one).
    psid, conv = uuid.uuid4(), uuid.uuid4()
    revealed = uuid.uuid4()
    ordinary = [
        json.dumps(conversation_event(conv, psid, "connected", at)).encode(),
        json.dumps(conversation_event(flood[0], revealed, "disconnected", at)).encode(),
    ]
    topic = env.topic(CONVERSATIONS)
    await rt.stage1(
        [Inbound(CONVERSATIONS, topic, 1, n, None, value) for n, value in enumerate(ordinary)]
    )
    internal = await read_topic(env, "chatstate.session-updates")
    # the two events, and flood[0]'s two parked ones
    assert len(internal_updates(internal)) == 2 + 2
    await rt.stage2([(r.topic, r.partition, r.offset, r.key, r.value) for r in internal])
    sessions = await db_sessions(env)
    assert sessions[psid].conversation(conv) is not None
    ended = sessions[revealed].conversation(flood[0])
    assert ended is not None
    assert ended.state is ConversationState.ENDED
    assert await parked_rows(env) == LIMIT // 2
    assert flood[0] not in rt.parked_here
    assert time.monotonic() - started < 30


async def test_a_flood_of_orphaned_conversations_pages_the_cap_then_one_aggregate(
    env: StackSlice, runtime: Runtime
) -> None:
    rt = runtime
    at = datetime.now(UTC) - timedelta(minutes=1)
    topic = env.topic(CONVERSATIONS)
    n = 200
    # Live, mapped conversations whose data action never fires: orphans once the grace is over.
    live = [
        Inbound(
            CONVERSATIONS,
            topic,
            0,
            i,
            None,
            json.dumps(conversation_event(uuid.uuid4(), uuid.uuid4(), "connected", at)).encode(),
        )
        for i in range(n)
    ]
    await rt.stage1(live)
    internal = await read_topic(env, "chatstate.session-updates")
    await rt.stage2([(r.topic, r.partition, r.offset, r.key, r.value) for r in internal])
    assert len(await db_sessions(env)) == n

    counts = await run_scans(rt)
    await run_scans(rt)  # a second round pages nothing again
    assert counts["orphaned"] == n
    orphans = await alerts_of(env, AlertType.ORPHANED_CONVERSATION)
    assert len([a for a in orphans if not a.details.get("aggregate")]) == CAP
    [aggregate] = [a for a in orphans if a.details.get("aggregate")]
    assert aggregate.details["count"] == n - CAP
    assert (
        rt.metrics.registry.get_sample_value(
            "chatstate_scan_alerts_aggregated_total", {"type": "orphaned_conversation"}
        )
        == n - CAP
    )
