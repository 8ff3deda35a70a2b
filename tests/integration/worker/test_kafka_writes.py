"""How the worker's Kafka writes survive a broker that stops answering: every attempt is
bounded, a failed one is retried on a new producer, and writers sharing the producer do not
replace it from under each other. Against the real broker; the failures are the ops'."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from processor.worker.runtime import Runtime
from tests.conftest import StackSlice
from tests.integration.worker.harness import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(env: StackSlice) -> AsyncIterator[Runtime]:
    rt = Runtime(
        env.settings(app_id=f"w-{uuid.uuid4().hex[:6]}", kafka_write_timeout_s=1.0),
        env.kafka_bootstrap,
        env.database_url,
    )
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


async def test_a_write_whose_ack_never_comes_is_retried_on_a_new_producer(
    env: StackSlice, runtime: Runtime
) -> None:
    topic = env.topic("chat.alerts")
    used: list[AIOKafkaProducer] = []

    async def write() -> None:
        used.append(runtime.producer)
        if len(used) == 1:
            await asyncio.Event().wait()  # an ack that never comes: a broker gone silent
        await runtime.producer.send_and_wait(topic, b"{}", key=b"retried")

    await asyncio.wait_for(runtime.kafka(write), 30)
    assert len(used) == 2
    assert used[1] is not used[0]
    assert [r.key for r in await read_topic(env, "chat.alerts")] == [b"retried"]


async def test_a_late_failure_on_a_replaced_producer_leaves_its_replacement_alone(
    env: StackSlice, runtime: Runtime
) -> None:
    # Stage 1 and stage 2 share the producer. One fails, replaces it and carries on with the
    # new one; the other then fails on the old one: that must not replace the new one again
    # (and strand what the first writer has in flight on it).
    topic = env.topic("chat.alerts")
    first = runtime.producer
    recovered = asyncio.Event()
    used: list[AIOKafkaProducer] = []

    async def late() -> None:
        producer = runtime.producer
        used.append(producer)
        if producer is first:
            await recovered.wait()
            raise KafkaConnectionError("the old producer's connection is gone")
        await producer.send_and_wait(topic, b"{}", key=b"late")

    async def early() -> None:
        producer = runtime.producer
        used.append(producer)
        if producer is first:
            raise KafkaConnectionError("the broker restarted")
        await producer.send_and_wait(topic, b"{}", key=b"early")
        recovered.set()

    await asyncio.wait_for(asyncio.gather(runtime.kafka(late), runtime.kafka(early)), 30)
    assert len({id(p) for p in used}) == 2, "one replacement, not one per failed writer"
    assert runtime.producer is used[-1]
    assert sorted(r.key for r in await read_topic(env, "chat.alerts")) == [b"early", b"late"]
