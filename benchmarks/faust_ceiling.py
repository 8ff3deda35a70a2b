"""Benchmark (not a test): how many events/s Faust's own per-event path delivers on this machine,
with an agent that does nothing but ack (``noack_take`` + ``ack``, as chatstate's agents do),
next to a plain aiokafka ``getmany`` consumer of the same records in the same run.

chatstate's worker moves every record through two Faust agents (the input topic, then the
per-session topic), so half of the Faust figure is the ceiling of any two-hop Faust pipeline
here, before chatstate does any work of its own.

    .venv/bin/python benchmarks/faust_ceiling.py [--records 30000]

Needs KAFKA_BOOTSTRAP_SERVERS (``eval "$(.venv/bin/chatstate dev env)"``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from processor.kafka_security import PLAINTEXT
from processor.producer import make_producer

AGENT = r"""
import os, sys, time
import faust
n, topic, bs, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
app = faust.App("ceiling-" + topic, broker="kafka://" + bs, web_enabled=False,
                key_serializer="raw", value_serializer="raw", stream_wait_empty=False,
                consumer_auto_offset_reset="earliest", datadir="/tmp/ceiling-" + topic)
source = app.topic(topic, key_type=bytes, value_type=bytes)
seen = {"n": 0, "t0": 0.0}
@app.agent(source)
async def only_ack(stream):
    async for events in stream.noack_take(500, within=0.05):
        if not seen["t0"]:
            seen["t0"] = time.perf_counter()
        seen["n"] += len(events)
        for e in events:
            await stream.ack(e)
        if seen["n"] >= n:
            with open(out, "w") as f:  # Faust's worker redirects print() into its logger
                f.write(str(seen["n"] / (time.perf_counter() - seen["t0"])))
            os._exit(0)
faust.Worker(app, loglevel="warning").execute_from_commandline()
"""


async def produce(bootstrap: str, topic: str, n: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 6, 1)])
    await admin.close()
    await asyncio.sleep(1)
    # The local stack's plain listener, like this script's other clients and its Faust app.
    producer = make_producer(bootstrap, PLAINTEXT, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    value = json.dumps({"pad": "x" * 880}).encode()
    futures = [await producer.send(topic, value, key=str(i).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    await producer.stop()


async def plain(bootstrap: str, topic: str, n: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"plain-{topic}",
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    await consumer.start()
    seen, t0 = 0, 0.0
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            if batch and not t0:
                t0 = time.perf_counter()
            seen += sum(len(r) for r in batch.values())
        return seen / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=30000)
    args = parser.parse_args()
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    topic = f"ceiling-{uuid.uuid4().hex[:8]}"
    asyncio.run(produce(bootstrap, topic, args.records))
    rate_file = f"/tmp/{topic}.rate"  # noqa: S108 - a scratch file of this run
    run = subprocess.run(
        [sys.executable, "-c", AGENT, str(args.records), topic, bootstrap, rate_file],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not os.path.exists(rate_file):
        sys.exit(f"the Faust agent did not finish:\n{run.stderr[-3000:]}")
    with open(rate_file) as f:
        faust_rate = float(f.read())
    os.unlink(rate_file)
    plain_rate = asyncio.run(plain(bootstrap, topic, args.records))
    print(f"records {args.records:,}")
    print(f"plain aiokafka getmany      {plain_rate:10,.0f} events/s")
    print(
        f"faust agent (noack_take)    {faust_rate:10,.0f} events/s   "
        f"({faust_rate / plain_rate:.3f} of plain)"
    )
    print(f"two Faust hops, at most     {faust_rate / 2:10,.0f} events/s end to end")


if __name__ == "__main__":
    main()
