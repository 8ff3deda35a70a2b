"""Kafka away for 20 s while Genesys keeps talking: the bridge stops reading rather than drop
anything, and once the broker is back every conversation's final state reaches
``genesys.conversations``. A private broker (its own state dir and ports): stopping the
session's shared one would disturb every other test."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from processor.devstack.stack import LocalStack, StackState
from processor.emulator import EmulatorServer
from processor.kafka_security import KafkaSecurity
from processor.migrate import migrate
from processor.settings import Settings
from processor.topics import Catalog
from processor.topics import apply as apply_topics
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

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(400)]
DOWN_S = 20.0


@pytest.fixture(scope="module")
def private_stack() -> Iterator[LocalStack]:
    state = Path(f"/tmp/chatstate-bridge-kafka-{uuid.uuid4().hex[:8]}")  # noqa: S108
    stack = LocalStack(Settings(state_dir=state, kafka_heap="384m"))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


def _stop_kafka(stack: LocalStack) -> None:
    st = StackState.load(stack.settings.state_dir)
    assert stack.kafka.stop(st.kafka), "the private broker was running"
    st.save(stack.settings.state_dir)


def _start_kafka(stack: LocalStack) -> None:
    st = StackState.load(stack.settings.state_dir)
    st.kafka = stack.kafka.start(st.kafka)
    st.save(stack.settings.state_dir)


async def test_kafka_down_for_20_s_loses_nothing(
    private_stack: LocalStack, emu: EmulatorServer
) -> None:
    status = private_stack.status()
    assert status.kafka_bootstrap
    assert status.database_url
    prefix = f"k{uuid.uuid4().hex[:8]}."
    catalog = Catalog.load(Settings().topics_file, prefix)
    await apply_topics(catalog, status.kafka_bootstrap, KafkaSecurity())
    await migrate(status.database_url)
    env = StackSlice(status.kafka_bootstrap, status.database_url, prefix, catalog)

    async with running_bridge(env, emu):
        await start_feed(emu, sessions=30, rate=150, queues=3)
        total = len(feed(emu).envelopes)
        await until(lambda: feed(emu).fed >= total * 0.3, 60, "the feed to get going")
        await asyncio.to_thread(_stop_kafka, private_stack)
        await asyncio.sleep(DOWN_S)  # Genesys keeps sending meanwhile
        fed_while_down = feed(emu).fed
        await asyncio.to_thread(_start_kafka, private_stack)
        await feed_done(emu, timeout=120)

        async def complete() -> bool:
            return missing_final_states(emu, await read_topic(env)) == {
                "unseen": [], "not_ended": []
            }

        deadline = asyncio.get_running_loop().time() + 180
        while not await complete():
            assert asyncio.get_running_loop().time() < deadline, missing_final_states(
                emu, await read_topic(env)
            )
            await asyncio.sleep(2)
    assert fed_while_down > total * 0.3, "Genesys sent nothing while Kafka was down"
