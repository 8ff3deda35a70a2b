"""The whole path: emulator -> bridge -> genesys.conversations -> worker -> PostgreSQL, with the
socket dropped mid-stream: every conversation of the fed plan is in ``session_conversations``
under its session, ended exactly when the plan ended it (the ended ones the drop hid arrive
through the backfill)."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.emulator import EmulatorServer
from tests.conftest import StackSlice
from tests.integration.bridge.harness import (
    control,
    feed,
    feed_done,
    running_bridge,
    start_feed,
    until,
)
from tests.integration.worker.harness import Worker, connect, eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_emulator_to_database_through_a_dropped_socket(
    env: StackSlice, emu: EmulatorServer, tmp_path: Path
) -> None:
    worker = Worker(env, tmp_path / "worker.log", "bridge-e2e").start()
    try:
        async with running_bridge(env, emu) as bridge:
            await start_feed(emu, sessions=30, rate=300, queues=3)
            total = len(feed(emu).envelopes)
            await until(lambda: feed(emu).fed >= total * 0.4, 60, "the feed to get going")
            await control(emu, "/emulator/faults", {"drop_sockets": True})
            await feed_done(emu)
            assert bridge.backfiller is not None
            backfiller = bridge.backfiller
            await until(lambda: backfiller.filled >= 1, 60, "the backfill")
        sim = feed(emu).simulation
        assert sim is not None
        want = {
            (c.conversation_id, plan.persistent_session_id, "ended" if c.ends else "live")
            for plan in sim.plans
            for c in plan.conversations
        }

        async def stored() -> bool:
            conn = await connect(env)
            try:
                rows = await conn.fetch(
                    "SELECT conversation_id, persistent_session_id, state "
                    "FROM session_conversations"
                )
            finally:
                await conn.close()
            return {(r[0], r[1], r[2]) for r in rows} == want

        await eventually(stored, 90, "every conversation in its final state", worker)
    finally:
        worker.stop()
