"""A web messaging session end to end, through a real worker, Kafka and PostgreSQL: starts,
three snapshots, ends; the customer returns after the TTL, the session has expired, and the
new conversation is tagged with the old one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from schemas.alerts import Alert, AlertType
from schemas.session import SessionStatus
from tests.conftest import StackSlice
from tests.integration.worker.harness import (
    T0,
    Feeder,
    Worker,
    conversation_event,
    db_sessions,
    eventually,
    read_topic,
    snapshot_body,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_session_lives_expires_and_resumes_with_the_old_conversation_tagged(
    env: StackSlice, tmp_path: Path
) -> None:
    psid, c1, c2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # A short TTL stands in for "three days later".
    worker = Worker(
        env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}", session_ttl="PT4S"
    ).start()
    try:
        async with Feeder(env) as feed:
            await feed.event(conversation_event(c1, psid, "connected", T0))
            for step in (1, 2, 3):
                await feed.snapshot(snapshot_body(psid, c1, T0 + timedelta(minutes=step), step))
            await feed.event(
                conversation_event(c1, psid, "disconnected", T0 + timedelta(minutes=5))
            )

            async def idle_with_three_snapshots() -> object:
                s = (await db_sessions(env)).get(psid)
                return (
                    s
                    if s
                    and s.status is SessionStatus.IDLE
                    and s.latest_snapshot
                    and s.latest_snapshot["stepsCompleted"] == 3
                    else None
                )

            s = await eventually(idle_with_three_snapshots, what="idle session", worker=worker)
            assert s.current_conversation_id == c1
            assert s.customer_id_hashed == "ab" * 32

            # The event times are days in the past, so with a 4 s TTL the next scan expires it.
            async def expired() -> object:
                s = (await db_sessions(env)).get(psid)
                return s if s and s.status is SessionStatus.EXPIRED else None

            await eventually(expired, what="expiry", worker=worker)

            # The customer comes back: a new conversation tagged with the old one.
            back = T0 + timedelta(days=3)
            await feed.event(conversation_event(c2, psid, "connected", back, resumed_from=c1))

            async def resumed() -> object:
                s = (await db_sessions(env)).get(psid)
                return s if s and s.current_conversation_id == c2 else None

            s = await eventually(resumed, what="resumption", worker=worker)
            assert s.status is SessionStatus.ACTIVE
            assert s.resumed_from_conversation_id == c1
            assert s.conversation(c2).resumed_from_conversation_id == c1  # type: ignore[union-attr]
            assert s.conversation(c1).state.value == "ended"  # type: ignore[union-attr]

        alerts = [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]
        expired_alerts = [a for a in alerts if a.type is AlertType.SESSION_EXPIRED]
        assert len(expired_alerts) == 1
        assert expired_alerts[0].persistent_session_id == psid
        states = await read_topic(env, "chat.sessions")
        assert any(r.key == str(psid).encode() for r in states), "latest state published"
    finally:
        worker.stop()
