"""Data that ends when it must, and alerts that end (issue 17, items 3-4), on the real servers:
the retention scan purges an archived session past the purge period (rows gone, a tombstone on
chat.sessions) and keeps a recent one; an orphaned conversation that gets its snapshot is told
``resolved`` once; the alert log tells each status of a condition once and a condition that
comes back fires again; an expiry spike is one alert."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processor.core.alert_status import expiry_spike, resolved
from processor.core.lifecycle import alert
from processor.worker.alert_log import record_alerts
from schemas.alerts import Alert, AlertStatus, AlertType, Severity
from tests.conftest import StackSlice
from tests.integration.worker.harness import (
    CUSTOMER_HASH,
    Feeder,
    Worker,
    connect,
    eventually,
    read_topic,
    snapshot_body,
)

pytestmark = pytest.mark.integration


async def _session(env: StackSlice, status: str, last: datetime) -> uuid.UUID:
    psid = uuid.uuid4()
    conn = await connect(env)
    try:
        await conn.execute(
            "INSERT INTO sessions (persistent_session_id, status, version, customer_id_hashed,"
            " last_interaction_at, created_at, updated_at) VALUES ($1, $2, 3, $3, $4, $4, $4)",
            psid, status, CUSTOMER_HASH, last)
        await conn.execute(
            "INSERT INTO snapshots (persistent_session_id, snapshot_at, received_at, source_id,"
            " state) VALUES ($1, $2, $2, $3, '{}')", psid, last, f"s-{psid}")
    finally:
        await conn.close()
    return psid


async def _rows(env: StackSlice, psid: uuid.UUID) -> int:
    conn = await connect(env)
    try:
        return int(await conn.fetchval(
            "SELECT (SELECT count(*) FROM sessions WHERE persistent_session_id = $1)"
            " + (SELECT count(*) FROM snapshots WHERE persistent_session_id = $1)", psid))
    finally:
        await conn.close()


async def test_an_archived_session_past_the_purge_period_is_deleted_and_tombstoned(
    env: StackSlice, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    gone = await _session(env, "archived", now - timedelta(days=125))  # 90 + 30 + 5
    kept = await _session(env, "archived", now - timedelta(days=100))  # within the purge period
    worker = Worker(env, tmp_path / "w.log", f"w-{uuid.uuid4().hex[:6]}").start()
    try:
        await eventually(lambda: _zero(env, gone), worker=worker, what="the purge")
    finally:
        worker.stop()
    assert await _rows(env, kept) == 2
    tombstones = [r for r in await read_topic(env, "chat.sessions") if r.key == str(gone).encode()]
    assert [r.value for r in tombstones] == [None]


async def _zero(env: StackSlice, psid: uuid.UUID) -> bool:
    return await _rows(env, psid) == 0


async def test_an_orphaned_conversation_that_gets_its_snapshot_is_resolved_once(
    env: StackSlice, tmp_path: Path
) -> None:
    psid, conversation = uuid.uuid4(), uuid.uuid4()
    old = datetime.now(UTC) - timedelta(hours=1)
    conn = await connect(env)
    try:
        await conn.execute(
            "INSERT INTO sessions (persistent_session_id, status, version, last_interaction_at,"
            " expires_at, created_at, updated_at) VALUES ($1, 'active', 1, $2, $3, $2, $2)",
            psid, old, old + timedelta(days=3))
        await conn.execute(
            "INSERT INTO session_conversations (conversation_id, persistent_session_id, state,"
            " first_seen_at, updated_at) VALUES ($1, $2, 'live', $3, $3)", conversation, psid, old)
    finally:
        await conn.close()
    worker = Worker(env, tmp_path / "w.log", f"w-{uuid.uuid4().hex[:6]}").start()

    async def told(status: AlertStatus) -> list[Alert]:
        alerts = [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]
        return [a for a in alerts if a.type is AlertType.ORPHANED_CONVERSATION
                and a.status is status and a.conversation_id == conversation]

    try:
        [firing] = await eventually(lambda: told(AlertStatus.FIRING), worker=worker,
                                    what="the orphan alert")
        async with Feeder(env) as feed:
            await feed.snapshot(snapshot_body(psid, conversation, datetime.now(UTC), 1))
        [end] = await eventually(lambda: told(AlertStatus.RESOLVED), worker=worker,
                                 what="the resolution")
        await asyncio.sleep(3)  # a few more 1 s scan rounds
        assert len(await told(AlertStatus.RESOLVED)) == 1  # told once
    finally:
        worker.stop()
    assert end.dedup_key == firing.dedup_key
    assert end.severity is Severity.INFO
    assert end.schema_version == 2
    assert end.details["resolution"] == "a snapshot was persisted"


async def test_each_status_of_a_condition_is_told_once_and_a_condition_that_returns_fires_again(
    env: StackSlice,
) -> None:
    now = datetime.now(UTC)
    firing = alert(AlertType.UNMAPPED_CONVERSATION, Severity.WARNING, "x",
                   f"unmapped_conversation:{uuid.uuid4()}", now)
    ended = resolved(AlertType.UNMAPPED_CONVERSATION, firing.dedup_key, now, "mapped")
    conn = await connect(env)
    try:
        assert await record_alerts(conn, [firing]) == [firing]
        assert await record_alerts(conn, [firing]) == []  # deduplicated
        assert await record_alerts(conn, [ended]) == [ended]
        assert await record_alerts(conn, [ended]) == []
        assert await record_alerts(conn, [firing]) == [firing]  # it came back: fires again
        assert await record_alerts(conn, [ended]) == [ended]  # and can end again
    finally:
        await conn.close()


def test_an_expiry_spike_is_one_alert_above_the_threshold_and_none_at_it() -> None:
    now = datetime.now(UTC)
    assert expiry_spike(100, 100, now) == []
    [spike] = expiry_spike(101, 100, now)
    assert spike.type is AlertType.EXPIRY_SPIKE
    assert spike.severity is Severity.WARNING
    assert spike.details == {"expired": 101, "threshold": 100}
    assert json.loads(spike.to_json_bytes())["status"] == "firing"


async def test_many_expiries_in_one_round_raise_one_expiry_spike_beside_the_info_alerts(
    env: StackSlice, tmp_path: Path
) -> None:
    past = datetime.now(UTC) - timedelta(days=4)
    conn = await connect(env)
    try:
        for _ in range(3):
            await conn.execute(
                "INSERT INTO sessions (persistent_session_id, status, version,"
                " last_interaction_at, expires_at, created_at, updated_at)"
                " VALUES ($1, 'idle', 1, $2, $3, $2, $2)",
                uuid.uuid4(), past, past + timedelta(hours=72))
    finally:
        await conn.close()
    worker = Worker(env, tmp_path / "w.log", f"w-{uuid.uuid4().hex[:6]}",
                    expiry_spike_threshold="2").start()

    async def told() -> list[Alert]:
        return [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]

    try:
        await eventually(lambda: _of(told(), AlertType.EXPIRY_SPIKE), worker=worker,
                         what="the expiry spike")
        expired = await eventually(lambda: _of(told(), AlertType.SESSION_EXPIRED, 3),
                                   worker=worker, what="three expiries")
    finally:
        worker.stop()
    [spike] = [a for a in await told() if a.type is AlertType.EXPIRY_SPIKE]
    assert spike.severity is Severity.WARNING
    assert spike.details == {"expired": 3, "threshold": 2}
    assert {a.severity for a in expired} == {Severity.INFO}  # routine: paging skips them


async def _of(alerts: Awaitable[list[Alert]], kind: AlertType, at_least: int = 1) -> list[Alert]:
    found = [a for a in await alerts if a.type is kind]
    return found if len(found) >= at_least else []
