"""faust-streaming 0.15.3 + aiokafka 0.14 + Kafka 4: a Faust agent consumes what aiokafka
produced."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from processor.devstack.resolve import Endpoints

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_faust_agent_consumes_what_aiokafka_produced(
    stack: Endpoints, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    src, dst = f"smoke-in-{run}", f"smoke-out-{run}"
    admin = AIOKafkaAdminClient(
        bootstrap_servers=stack.kafka_bootstrap, **stack.kafka_security.client_options()
    )
    await admin.start()
    await admin.create_topics([NewTopic(src, 2, 1), NewTopic(dst, 1, 1)])
    await admin.close()

    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka_bootstrap, acks="all",
        **stack.kafka_security.client_options(),
    )
    await producer.start()
    sent = [f"hello-{i}".encode() for i in range(20)]
    for i, value in enumerate(sent):
        await producer.send_and_wait(src, value, key=str(i).encode())
    await producer.stop()

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        **stack.kafka_security.environment(),
        "ECHO_APP_ID": f"smoke-{run}",
        "ECHO_IN": src,
        "ECHO_OUT": dst,
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faust",
            "-A",
            "tests.integration.foundation.faust_echo",
            "--datadir",
            str(tmp_path / "faust"),
            "worker",
            "-l",
            "info",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parents[3],
    )
    consumer = AIOKafkaConsumer(
        dst,
        bootstrap_servers=stack.kafka_bootstrap,
        **stack.kafka_security.client_options(),
        auto_offset_reset="earliest",
        group_id=f"check-{run}",
    )
    await consumer.start()
    got: list[bytes] = []
    try:
        async with asyncio.timeout(90):
            while len(got) < len(sent):
                batch = await consumer.getmany(timeout_ms=1000)
                got.extend(m.value for msgs in batch.values() for m in msgs if m.value)
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        await consumer.stop()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
    assert sorted(got) == sorted(v.upper() for v in sent)
