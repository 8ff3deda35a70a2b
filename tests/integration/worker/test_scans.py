"""The leader's scans: conversations nobody saves state for, conversations nobody can map, and
parked events released once a snapshot reveals their session."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from processor.sim.genesys import detail_event
from schemas.alerts import Alert, AlertStatus, AlertType
from schemas.observation import ConversationState
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

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def alerts_of(env: StackSlice, kind: AlertType) -> list[Alert]:
    alerts = [Alert.model_validate_json(r.value) for r in await read_topic(env, "chat.alerts")]
    return [a for a in alerts if a.type is kind]


async def test_orphaned_and_unmapped_conversations_alert_once_and_parked_events_are_released(
    env: StackSlice, tmp_path: Path
) -> None:
    now = datetime.now(UTC) - timedelta(minutes=1)
    orphan_session, orphan = uuid.uuid4(), uuid.uuid4()
    unmapped = uuid.uuid4()
    late_session, late = uuid.uuid4(), uuid.uuid4()
    worker = Worker(
        env, tmp_path / "w.log", f"w-{uuid.uuid4().hex[:6]}", orphan_grace="PT2S"
    ).start()
    try:
        async with Feeder(env) as feed:
            # Live, mapped, but its data action never fires.
            await feed.event(conversation_event(orphan, orphan_session, "connected", now))
            # Detail events carry no attributes: nobody ever says whose session these are.
            for conv in (unmapped, late):
                ev = detail_event(
                    conv,
                    "customer.end",
                    now,
                    uuid.uuid5(conv, "c"),
                    "message",
                    uuid.uuid4(),
                    disconnect_type="client",
                )
                await feed.raw("genesys.conversations", str(conv), json.dumps(ev).encode())

            async def orphan_alerted() -> list[Alert]:
                return await alerts_of(env, AlertType.ORPHANED_CONVERSATION)

            [o] = await eventually(orphan_alerted, what="orphan alert", worker=worker)
            assert o.conversation_id == orphan
            assert o.persistent_session_id == orphan_session

            async def unmapped_alerted() -> list[Alert]:
                found = await alerts_of(env, AlertType.UNMAPPED_CONVERSATION)
                return found if {a.conversation_id for a in found} >= {unmapped, late} else []

            await eventually(unmapped_alerted, what="unmapped alerts", worker=worker)

            # Now a snapshot names the late conversation: its parked end event is released.
            await feed.snapshot(snapshot_body(late_session, late, now - timedelta(seconds=30), 1))

            async def late_ended() -> object:
                s = (await db_sessions(env)).get(late_session)
                c = s.conversation(late) if s else None
                return c if c and c.state is ConversationState.ENDED else None

            c = await eventually(late_ended, what="the parked end applied", worker=worker)
            assert c.disconnect_type == "client"
            # Several more scan rounds pass: nothing pages twice.
            await feed.event(conversation_event(uuid.uuid4(), uuid.uuid4(), "connected", now))
            await asyncio.sleep(3)  # scan interval is 1 s in tests: three more rounds
    finally:
        worker.stop()
    assert len(await alerts_of(env, AlertType.ORPHANED_CONVERSATION)) >= 1
    for kind in (AlertType.ORPHANED_CONVERSATION, AlertType.UNMAPPED_CONVERSATION):
        keys = [(a.dedup_key, a.status) for a in await alerts_of(env, kind)]
        assert len(keys) == len(set(keys)), f"{kind} raised twice"
    # Once mapped, the late conversation is no longer unmapped: told resolved, once.
    ended = [a for a in await alerts_of(env, AlertType.UNMAPPED_CONVERSATION)
             if a.status is AlertStatus.RESOLVED]
    assert [a.conversation_id for a in ended] == [late]
