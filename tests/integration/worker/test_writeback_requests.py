"""The worker tells the bridge what to show the agent: when a session with history starts a new
conversation, one request lands on ``chat.agent-context`` (the bridge sets the attributes), and
a session's first conversation asks for nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from processor.core.writeback import NOTICE_KEY, SUMMARY_KEY
from schemas.session import SessionState
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


async def test_a_returning_customers_new_conversation_asks_the_bridge_to_tell_the_agent(
    env: StackSlice, tmp_path: Path
) -> None:
    psid, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}").start()
    try:
        async with Feeder(env) as feed:
            await feed.event(conversation_event(first, psid, "connected", T0))
            await feed.snapshot(snapshot_body(psid, first, T0 + timedelta(minutes=1), 2))
            await feed.event(
                conversation_event(first, psid, "disconnected", T0 + timedelta(minutes=5))
            )

            async def snapshot_applied() -> SessionState | None:
                s = (await db_sessions(env)).get(psid)
                return s if s and s.latest_snapshot else None

            await eventually(snapshot_applied, what="first conversation", worker=worker)
            back = T0 + timedelta(days=3)
            await feed.event(
                conversation_event(second, psid, "connected", back, resumed_from=first)
            )

            async def second_live() -> SessionState | None:
                s = (await db_sessions(env)).get(psid)
                return s if s and s.current_conversation_id == second else None

            await eventually(second_live, what="second conversation", worker=worker)
        requests = await read_topic(env, "chat.agent-context")
    finally:
        worker.stop()

    assert [r.key for r in requests] == [str(second).encode()]  # none for the first
    body = json.loads(requests[0].value)
    assert body["persistentSessionId"] == str(psid)
    assert body["resumedFromConversationId"] == str(first)
    assert body["attributes"][NOTICE_KEY] == f"Resuming from archived session ID: {first}"
    assert "2" in body["attributes"][SUMMARY_KEY]  # steps completed, never free text
