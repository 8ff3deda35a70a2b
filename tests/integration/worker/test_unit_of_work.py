"""Stage 2's unit of work (``SessionStore.apply``) against the real PostgreSQL, without Kafka:
the rows a batch writes, the positions that make a replay a no-op, and the look-ups a batch
asks before deciding (snapshots already stored, the deny list, issued ids) all in one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from processor.core.lifecycle import LifecyclePolicy
from processor.core.removal import session_digest
from processor.db import create_pool
from processor.worker.session_tables import load_sessions
from processor.worker.unit_of_work import BatchItem, SessionStore
from schemas.commands import SessionUpdate
from schemas.observation import ConversationState
from tests.unit.core.lifecycle_builders import C1, C2, T0, ended, live, snapshot, update

pytestmark = [pytest.mark.integration]

TOPIC = "t.session-updates"
P1 = uuid.UUID("00000000-0000-4000-8000-0000000b0001")
P2 = uuid.UUID("00000000-0000-4000-8000-0000000b0002")


@pytest.fixture
async def pool(fresh_db: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(fresh_db, min_size=1, max_size=2)
    yield p
    await p.close()


def store(pool: asyncpg.Pool, **policy: Any) -> SessionStore:
    return SessionStore(pool, consumer="c", policy=LifecyclePolicy(**policy),
                        sessions_topic="chat.sessions", alerts_topic="chat.alerts")


def items(updates: list[SessionUpdate], offset: int = 0) -> list[BatchItem]:
    """All updates in one internal record at ``offset``."""
    return [BatchItem(TOPIC, 0, offset, u, None, b"", i, len(updates))
            for i, u in enumerate(updates)]


async def tables(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    return {
        t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1")]
        for t in ("sessions", "session_conversations")
    } | {
        "snapshots": [tuple(r) for r in await pool.fetch(
            "SELECT source_id, persistent_session_id, state, pii_findings FROM snapshots "
            "ORDER BY snapshot_id")],
        "positions": [tuple(r) for r in await pool.fetch(
            "SELECT topic, partition, next_offset, next_index FROM consumer_positions")],
    }


async def test_a_batch_writes_its_rows_once_and_the_same_batch_again_is_a_replay(
    pool: asyncpg.Pool,
) -> None:
    batch = items([
        update(live(C1, T0), T0, P1),
        update(snapshot(T0 + timedelta(minutes=1), intent="billing"), T0, P1),
        update(live(C2, T0), T0, P2),
        update(ended(C2, T0 + timedelta(minutes=2)), T0 + timedelta(minutes=2), P2),
    ])
    first = await store(pool).apply(batch)
    assert (first.applied, first.replayed, first.changed_sessions) == (4, 0, 2)
    rows = await tables(pool)
    assert {r[0]: r[1] for r in rows["sessions"]} == {P1: "active", P2: "idle"}
    assert [(r[0], r[1]) for r in rows["session_conversations"]] == [(C1, P1), (C2, P2)]
    assert [r[1] for r in rows["snapshots"]] == [P1]
    assert rows["snapshots"][0][2]["intent"] == "billing"
    assert rows["positions"] == [(TOPIC, 0, 1, 0)]
    assert sorted(r.key or b"" for r in first.outbox if r.topic == "chat.sessions") == sorted(
        str(p).encode() for p in (P1, P2))

    async with pool.acquire() as conn:
        loaded = await load_sessions(conn, [P1, P2, uuid.uuid4()])
    assert set(loaded) == {P1, P2}
    assert [c.conversation_id for c in loaded[P1].conversations] == [C1]
    assert [(c.conversation_id, c.state) for c in loaded[P2].conversations] == [
        (C2, ConversationState.ENDED)]
    assert loaded[P1].latest_snapshot == rows["snapshots"][0][2]

    again = await store(pool).apply(batch)
    assert (again.applied, again.replayed, again.outbox) == (0, 4, [])
    assert await tables(pool) == rows


async def test_a_snapshot_already_in_history_adds_no_row_and_does_not_become_latest(
    pool: asyncpg.Pool,
) -> None:
    a = snapshot(T0 + timedelta(minutes=1), intent="a")
    b = snapshot(T0 + timedelta(minutes=2), intent="b")
    await store(pool).apply(items([update(a, T0, P1), update(b, T0, P1)]))
    out = await store(pool).apply(items([update(a, T0 + timedelta(minutes=5), P1)], offset=1))
    assert out.applied == 1
    assert out.changed_sessions == 0
    assert [r[0] for r in (await tables(pool))["snapshots"]] == [a.content_id, b.content_id]
    latest = await pool.fetchval("SELECT latest_snapshot_content_id FROM sessions")
    assert latest == b.content_id


async def test_under_require_issued_only_an_issued_id_starts_a_session(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute(
        "INSERT INTO issued_sessions (persistent_session_id, customer_id_hashed, issued_at) "
        "VALUES ($1, $2, $3)", P1, "a" * 64, T0)
    out = await store(pool, require_issued=True).apply(
        items([update(live(C1, T0), T0, P1), update(live(C2, T0), T0, P2)]))
    assert out.applied == 2
    assert [r[0] for r in (await tables(pool))["sessions"]] == [P1]
    alerts = [r for r in out.outbox if r.topic == "chat.alerts"]
    assert len(alerts) == 1
    assert b"unknown_session" in (alerts[0].value or b"")
    assert str(P2).encode() in (alerts[0].value or b"")


async def test_an_erased_session_on_the_deny_list_is_refused_and_its_position_moves_on(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute(
        "INSERT INTO erased_ids (digest, kind, erased_at, erasure_id) "
        "VALUES ($1, 'session', $2, $3)",
        session_digest(P2), T0, uuid.uuid4())
    out = await store(pool).apply(
        items([update(live(C1, T0), T0, P1), update(live(C2, T0), T0, P2)]))
    assert out.applied == 2
    rows = await tables(pool)
    assert [r[0] for r in rows["sessions"]] == [P1]
    assert [r[0] for r in rows["session_conversations"]] == [C1]
    assert rows["positions"] == [(TOPIC, 0, 1, 0)]


async def test_a_value_postgresql_refuses_fails_the_batch_and_writes_nothing(
    pool: asyncpg.Pool,
) -> None:
    # Past the contract's own check (it refuses NUL), as a record from an older version could be.
    ok = snapshot(T0 + timedelta(minutes=1))
    state = ok.snapshot.state_snapshot.model_copy(update={"last_agent_message": "nul \u0000"})
    bad = ok.model_copy(update={"snapshot": ok.snapshot.model_copy(
        update={"state_snapshot": state})})
    with pytest.raises(asyncpg.DataError):
        await store(pool).apply(items([update(live(C1, T0), T0, P1), update(bad, T0, P1)]))
    rows = await tables(pool)
    assert rows == {"sessions": [], "session_conversations": [], "snapshots": [], "positions": []}
