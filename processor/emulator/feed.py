"""Traffic for the emulator: the simulator's Genesys notifications (``processor.sim``), sent
over the notification sockets at a chosen rate.

Only queue conversation topics travel: detail-event topics are per conversation and a bridge
watching queues does not subscribe to them. EventBridge-wrapped records are unwrapped (the
websocket carries the bare envelope), heartbeats and malformed records are dropped (the
emulator sends its own heartbeats). The simulator gives every conversation its own queue; the
feed folds them onto ``queues`` queues so a bridge subscribes to a realistic number of topics.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from processor.emulator.org import Org
from processor.sim.plan import Topic
from processor.sim.scenarios import SimConfig, Simulation

__all__ = ["Feed", "queue_ids"]


def queue_ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=0xE0000000_0000_4000_8000_000000000000 + i)) for i in range(n)]


class Feed:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.fed = 0
        self.running = False
        self.simulation: Simulation | None = None
        self.envelopes: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    def plan(self, sessions: int, seed: int, queues: int) -> list[dict[str, Any]]:
        """Build the envelopes (and register the queues) without sending anything."""
        sim = Simulation(
            SimConfig(
                seed=seed,
                sessions=sessions,
                start=datetime.now(UTC),
                malformed_share=0.0,
                heartbeat_share=0.0,
            )
        )
        targets = queue_ids(queues)
        fold: dict[str, str] = {}
        out: list[dict[str, Any]] = []
        for rec in sim.records():
            if rec.topic is not Topic.GENESYS or rec.kind != "genesys":
                continue
            doc = json.loads(rec.value)
            doc = doc.get("detail", doc)
            topic = str(doc.get("topicName", ""))
            if not topic.startswith("v2.routing.queues."):
                continue
            old = topic.split(".")[3]
            new = fold.setdefault(old, targets[len(fold) % len(targets)])
            doc = json.loads(json.dumps(doc).replace(old, new))
            out.append(doc)
        for q in targets:
            self.org.add_queue(q, ("chat", "message"))
        self.simulation, self.envelopes = sim, out
        return out

    def start(
        self,
        sessions: int = 50,
        seed: int = 7,
        rate: float = 200.0,
        queues: int = 3,
        wait_for_sockets: bool = True,
    ) -> dict[str, Any]:
        if self.running:
            return {"error": "a feed is running"}
        envelopes = self.plan(sessions, seed, queues)
        self.running = True
        self._task = asyncio.get_running_loop().create_task(
            self._send(envelopes, rate, wait_for_sockets)
        )
        return {"notifications": len(envelopes), "queues": len(self.org.queues)}

    async def _send(self, envelopes: list[dict[str, Any]], rate: float, wait: bool) -> None:
        try:
            if wait:
                wanted = {f"v2.routing.queues.{q}.conversations" for q in self.org.queues}
                while not all(
                    any(t in c.topics and c.sockets for c in self.org.channels.values())
                    for t in wanted
                ):
                    await asyncio.sleep(0.05)
            started = time.monotonic()
            for n, env in enumerate(envelopes):
                if rate > 0:
                    delay = started + n / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif n % 200 == 0:
                    await asyncio.sleep(0)
                await self.org.publish(env)
                self.fed += 1
        finally:
            self.running = False
