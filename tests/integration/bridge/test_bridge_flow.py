"""Emulator -> bridge -> Kafka: every notification the emulator sends reaches
``genesys.conversations`` keyed by its conversation, redacted, in a shape stage 1 accepts."""

from __future__ import annotations

import uuid

import httpx
import pytest

from processor.emulator import EmulatorServer, free_port
from tests.conftest import StackSlice
from tests.integration.bridge.harness import (
    feed,
    feed_done,
    missing_final_states,
    read_topic,
    running_bridge,
    start_feed,
    until,
)

pytestmark = [pytest.mark.integration]


async def test_every_notification_reaches_kafka_keyed_by_conversation(
    env: StackSlice, emu: EmulatorServer
) -> None:
    async with running_bridge(env, emu) as bridge:
        await start_feed(emu, sessions=40, rate=0, queues=3)
        await feed_done(emu)
        fwd = bridge.forwarder
        assert fwd is not None
        await until(lambda: fwd.stats.forwarded >= feed(emu).fed, 30, "every notification acked")
    seen = await read_topic(env)
    assert emu.org.lost == 0
    assert seen.records >= feed(emu).fed
    assert missing_final_states(emu, seen) == {"unseen": [], "not_ended": []}


async def test_discovered_queues_over_1000_topics_use_two_channels_and_ops_answer(
    env: StackSlice, emu: EmulatorServer
) -> None:
    """400 chat queues (1,200 topics) and one voice queue: two channels, at most 1,000 topics
    each, the voice queue left out; /healthz, /readyz and /metrics on the bridge's port."""
    for n in range(400):
        emu.org.add_queue(str(uuid.UUID(int=n + 1)), ("chat",))
    emu.org.add_queue(str(uuid.UUID(int=999_999)), ("call",))
    port = free_port()
    async with running_bridge(env, emu, bridge_http_port=port) as bridge:
        await until(
            lambda: bridge.manager is not None and bridge.manager.connected.is_set(), 20, "channels"
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            metrics = (await http.get("/metrics")).text
    sizes = sorted(len(c.topics) for c in emu.org.channels.values())
    assert sizes == [209, 1000]  # (400 + the fixture's 3 queues) x 3 variants = 1,209
    watched = {t for c in emu.org.channels.values() for t in c.topics}
    assert not any(str(uuid.UUID(int=999_999)) in t for t in watched)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"lease": "ok", "kafka": "ok", "genesys": "ok"}
    assert "chatstate_bridge_forwarded_total" in metrics
