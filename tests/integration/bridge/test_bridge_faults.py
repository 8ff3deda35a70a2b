"""Each fault the bridge must survive, on the real Kafka and PostgreSQL with the emulator as
Genesys: whatever happens, every conversation's final state reaches ``genesys.conversations``
(read back through stage 1's parser), and only a real gap is recorded and backfilled."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import asyncpg
import pytest

from processor.emulator import EmulatorServer
from tests.conftest import StackSlice
from tests.integration.bridge.harness import (
    control,
    feed,
    feed_done,
    missing_final_states,
    read_topic,
    running_bridge,
    start_feed,
    stop_bridge,
    until,
)

pytestmark = [pytest.mark.integration]
NOTHING_MISSING: dict[str, list[str]] = {"unseen": [], "not_ended": []}


async def gaps(env: StackSlice) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(env.database_url)
    try:
        return list(await conn.fetch("SELECT * FROM bridge_gaps ORDER BY id"))
    finally:
        await conn.close()


async def mid_feed(emu: EmulatorServer, share: float = 0.4) -> None:
    total = len(feed(emu).envelopes)
    await until(lambda: feed(emu).fed >= total * share, 60, "the feed to get going")


async def test_socket_dropped_mid_stream_is_backfilled(
    env: StackSlice, emu: EmulatorServer
) -> None:
    async with running_bridge(env, emu) as bridge:
        await start_feed(emu, sessions=40, rate=400, queues=3)
        await mid_feed(emu)
        lost_before = emu.org.lost
        # Down for a moment, so the drop surely loses events (a reconnect within the gap
        # between two events lost none, and the test then proved nothing).
        await control(emu, "/emulator/faults", {"drop_sockets": True, "sockets_down_s": 0.5})
        await feed_done(emu)
        assert bridge.manager is not None
        assert bridge.backfiller is not None
        backfiller = bridge.backfiller
        await until(lambda: backfiller.filled >= 1, 60, "the gap to be backfilled")
        assert bridge.manager.reconnects >= 1
        print(f"\n[bridge] recovery after a dropped socket: {bridge.manager.recovery_s} s")
    rows = await gaps(env)
    assert [r["reason"] for r in rows] == ["socket_lost"]
    assert rows[0]["backfilled_at"] is not None
    seen = await read_topic(env)
    assert emu.org.lost > lost_before, "the drop lost nothing: the test proves nothing"
    assert seen.backfilled > 0
    assert {h["chatstate-backfill"] for h in seen.headers if "chatstate-backfill" in h} == {
        str(rows[0]["id"]).encode()
    }
    assert all("chatstate-fetched-at" in h for h in seen.headers if "chatstate-backfill" in h)
    assert missing_final_states(emu, seen) == NOTHING_MISSING


async def test_socket_closing_and_channel_expiry_leave_no_gap(
    env: StackSlice, emu: EmulatorServer
) -> None:
    async with running_bridge(env, emu, bridge_channel_max_age=timedelta(seconds=1.5)) as bridge:
        await start_feed(emu, sessions=40, rate=300, queues=3)
        await mid_feed(emu, 0.3)
        await control(emu, "/emulator/faults", {"socket_closing": True})
        await feed_done(emu)
        manager = bridge.manager
        assert manager is not None
        await until(
            lambda: (manager.status()["generation"] or 0) >= 4, 10, "expiry replacements too"
        )
        assert bridge.forwarder is not None
        assert await bridge.forwarder.drain(20)
    assert emu.org.lost == 0  # some socket was subscribed to every notification, always
    assert await gaps(env) == []
    seen = await read_topic(env)
    assert seen.backfilled == 0
    assert missing_final_states(emu, seen) == NOTHING_MISSING


async def test_expired_token_is_refreshed_and_nothing_is_lost(
    env: StackSlice, emu: EmulatorServer
) -> None:
    async with running_bridge(env, emu) as bridge:
        await start_feed(emu, sessions=30, rate=300, queues=2)
        await mid_feed(emu, 0.3)
        assert bridge.client is not None
        fetched = bridge.client.tokens.fetched
        await control(emu, "/emulator/faults", {"expire_tokens": True, "socket_closing": True})
        await feed_done(emu)
        await until(
            lambda: bridge.client is not None and bridge.client.tokens.fetched > fetched,
            10,
            "a new token",
        )
        assert bridge.client.counts["401"] >= 1
        assert bridge.forwarder is not None
        assert await bridge.forwarder.drain(20)
    assert emu.org.lost == 0
    seen = await read_topic(env)
    assert missing_final_states(emu, seen) == NOTHING_MISSING


async def test_429_storm_is_waited_out_at_the_pace_genesys_asks(
    env: StackSlice, emu: EmulatorServer
) -> None:
    async with running_bridge(env, emu) as bridge:
        await start_feed(emu, sessions=20, rate=300, queues=2)
        await mid_feed(emu, 0.2)
        await control(
            emu,
            "/emulator/faults",
            {"rate_limited": 4, "retry_after_s": 0.5, "socket_closing": True},
        )
        await feed_done(emu)
        manager = bridge.manager
        assert manager is not None
        await until(
            lambda: (manager.status()["generation"] or 0) >= 2,
            15,
            "the replacement channel despite 429s",
        )
        assert bridge.forwarder is not None
        assert await bridge.forwarder.drain(20)
    reqs = emu.org.requests
    limited = [i for i, r in enumerate(reqs) if r[3] == 429]
    assert len(limited) == 4
    for i in limited:
        if i + 1 < len(reqs):
            assert reqs[i + 1][0] - reqs[i][0] >= 0.45, "a request ignored Retry-After"
    seen = await read_topic(env)
    assert missing_final_states(emu, seen) == NOTHING_MISSING


async def test_two_bridges_one_works_the_standby_takes_over(
    env: StackSlice, emu: EmulatorServer
) -> None:
    async with running_bridge(env, emu) as first:
        await until(first.active.is_set, 10, "the first bridge to take the lease")
        async with running_bridge(env, emu) as second:
            await asyncio.sleep(1.5)
            assert not second.active.is_set()
            assert second.manager is None  # the standby subscribed nothing
            assert len(emu.org.channels) == 1  # the active bridge's one channel (9 topics)
            channels_before = len(emu.org.channels)
            started = time.monotonic()
            # the active one stops (as on a crash its connection closes): the standby takes over
            await stop_bridge(first)
            await until(second.active.is_set, 10, "the standby to take over")
            print(f"\n[bridge] standby took over in {time.monotonic() - started:.2f} s")
            await until(
                lambda: second.manager is not None and second.manager.connected.is_set(),
                10,
                "the standby's channels",
            )
            assert len(emu.org.channels) > channels_before


async def test_channels_are_replaced_before_their_token_ends(
    env: StackSlice, emu: EmulatorServer
) -> None:
    """Genesys stops a channel when the token that created it expires; tokens here live 3 s,
    so the bridge must renew the token and replace the channels, make before break, again and
    again, with nothing lost and no gap."""
    emu.org.token_ttl_s = 3.0
    async with running_bridge(env, emu) as bridge:
        await start_feed(emu, sessions=40, rate=25, queues=3)  # ~10 s: three token lives
        await feed_done(emu, 90)
        manager = bridge.manager
        assert manager is not None
        assert (manager.status()["generation"] or 0) >= 3
        assert bridge.forwarder is not None
        assert await bridge.forwarder.drain(20)
    assert emu.org.lost == 0
    assert await gaps(env) == []
    seen = await read_topic(env)
    assert missing_final_states(emu, seen) == NOTHING_MISSING
