"""Emulator -> bridge -> Kafka: every notification the emulator sends reaches
``genesys.conversations`` keyed by its conversation, redacted, in a shape stage 1 accepts."""

from __future__ import annotations

import pytest

from processor.emulator import EmulatorServer
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
