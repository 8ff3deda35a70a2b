"""Kafka unavailable: the forwarder's buffer fills, ``put`` waits (the socket readers stop
reading), nothing is dropped, and once Kafka answers everything goes out in order.

A stand-in producer here (a unit test of the buffering logic): the real-broker outage needs a
private broker to stop, which the shared stack cannot be (see the bridge's report)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from processor.bridge.forwarder import Forwarder


class FlakyProducer:
    """Fails every send while ``down`` is set, like a producer whose broker is gone."""

    log: list[bytes] = []
    down = asyncio.Event()

    async def start(self) -> None:
        if self.down.is_set():
            raise ConnectionError("broker unreachable")

    async def stop(self) -> None:
        return None

    async def send(
        self, topic: str, value: bytes, key: bytes, headers: Any
    ) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.down.is_set():
            fut.set_exception(ConnectionError("broker unreachable"))
        else:
            self.log.append(value)
            fut.set_result(None)
        return fut


def envelope(n: int) -> dict[str, Any]:
    return {"topicName": "v2.routing.queues.q.conversations", "eventBody": {"id": f"c{n}", "n": n}}


async def test_kafka_down_blocks_readers_and_loses_nothing() -> None:
    FlakyProducer.log = []
    FlakyProducer.down.set()
    fwd = Forwarder(FlakyProducer, "t", buffer=5, batch=2, write_timeout_s=1.0)
    runner = asyncio.create_task(fwd.run())

    async def reader() -> int:
        for n in range(30):
            await fwd.put(envelope(n))
        return 30

    reading = asyncio.create_task(reader())
    await asyncio.sleep(0.5)
    assert not reading.done()  # backpressure: the reader is held, not dropping
    assert fwd.pending == 5  # the buffer is full at its bound
    assert not fwd.kafka_ok
    FlakyProducer.down.clear()
    assert await asyncio.wait_for(reading, 15) == 30
    assert await fwd.drain(15)
    runner.cancel()
    got = [json.loads(v)["eventBody"]["n"] for v in FlakyProducer.log]
    assert got == list(range(30))  # every one, in order
    assert fwd.stats.forwarded == 30
    assert fwd.stats.resends >= 1
