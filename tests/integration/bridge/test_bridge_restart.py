"""The bridge SIGKILLed mid-stream and started again: the window between its last sign of life
and the new bridge's first socket is a gap, backfilled, so every conversation still reaches its
final state on ``genesys.conversations``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from processor.emulator import EmulatorServer
from tests.conftest import StackSlice
from tests.integration.bridge.harness import (
    BridgeProcess,
    feed,
    feed_done,
    missing_final_states,
    read_topic,
    start_feed,
    until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def subscribed(emu: EmulatorServer) -> bool:
    return any(c.sockets and c.topics for c in list(emu.org.channels.values()))


async def backfilled_gaps(env: StackSlice) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(env.database_url)
    try:
        return list(
            await conn.fetch(
                "SELECT reason, backfilled_at, conversations FROM bridge_gaps ORDER BY id"
            )
        )
    finally:
        await conn.close()


async def test_sigkilled_bridge_restarted_backfills_the_gap(
    env: StackSlice, emu: EmulatorServer, tmp_path: Path
) -> None:
    first = BridgeProcess(env, emu, tmp_path / "bridge-1.log").start()
    second = BridgeProcess(env, emu, tmp_path / "bridge-2.log")
    try:
        await until(lambda: subscribed(emu), 30, "the first bridge's subscription")
        await asyncio.sleep(2.5)  # the bridge marks itself alive every 2 s
        await start_feed(emu, sessions=40, rate=50, queues=3)
        total = len(feed(emu).envelopes)
        await until(lambda: feed(emu).fed >= total * 0.3, 60, "the feed to get going")
        first.kill()
        lost_from = emu.org.lost
        await asyncio.sleep(1.0)
        restarted = time.monotonic()
        second.start()
        await feed_done(emu)
        assert emu.org.lost > lost_from, "nothing was sent while no bridge ran"
        rows: list[asyncpg.Record] = []

        async def poll() -> None:
            nonlocal rows
            while not (rows and all(r["backfilled_at"] for r in rows)):
                rows = await backfilled_gaps(env)
                await asyncio.sleep(0.2)

        await asyncio.wait_for(poll(), 60)
        print(f"\n[bridge] restart to backfilled: {time.monotonic() - restarted:.2f} s")
    finally:
        first.kill()
        second.stop()
    assert [r["reason"] for r in rows] == ["restart"], second.log_lines()[-10:]
    assert rows[0]["conversations"] > 0
    seen = await read_topic(env)
    assert missing_final_states(emu, seen) == {"unseen": [], "not_ended": []}
