"""The bridge's throughput (notifications/s from the emulator's socket to Kafka's ack) and its
recovery after a dropped socket, on the local stack (``chatstate dev up``) or the servers named
by KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL.

    .venv/bin/python benchmarks/bridge_bench.py [--sessions 600] [--drop-sessions 150]

The emulator runs as its own process (``chatstate emulator``) so the two do not share one GIL;
the bridge runs in this process. Each run uses a throwaway database and topic prefix.
The emulator holds Genesys's 300 requests/min per token, and the bridge its default budget
(240/min), so the backfill time is what a real org would see for the same number of
conversations. Throughput: the whole feed sent as fast as the emulator can (rate 0), timed
from the first notification the bridge read to the last Kafka acknowledgement. Recovery: the
time from a dropped socket's last message to a new channel reading, and to the gap's backfill
acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from processor.bridge import Bridge
from processor.devstack.resolve import endpoints
from processor.emulator import free_port
from processor.migrate import migrate
from processor.settings import Settings
from processor.topics import Catalog
from processor.topics import apply as apply_topics

ROOT = Path(__file__).resolve().parents[1]


async def wait(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def run(sessions: int, drop_sessions: int) -> dict[str, object]:
    base = Settings()
    ep = endpoints(base)
    db = f"bridge_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(ep.database_url)
    await conn.execute(f'CREATE DATABASE "{db}"')
    await conn.close()
    url = ep.database_url.rsplit("/", 1)[0] + "/" + db
    await migrate(url)
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    await apply_topics(
        Catalog.load(base.topics_file, prefix), ep.kafka_bootstrap, ep.kafka_security
    )
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "processor.cli",
        "emulator",
        "--port",
        str(port),
        "--heartbeat-s",
        "5",
    ]
    emu = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)  # noqa: ASYNC220
    api = f"http://127.0.0.1:{port}"
    out: dict[str, object] = {}
    try:
        async with httpx.AsyncClient(base_url=api) as http:
            for _ in range(100):
                try:
                    await http.get("/emulator/status")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            settings = Settings(
                kafka_bootstrap_servers=ep.kafka_bootstrap,
                database_url=url,
                topic_prefix=prefix,
                genesys_api_base_url=api,
                genesys_login_base_url=api,
                genesys_client_id="emulator-client",
                genesys_client_secret="emulator-secret",  # noqa: S106 - the emulator's demo secret
                bridge_http_port=0,  # the default budget: 240 requests/min, as against Genesys
            )
            bridge = Bridge(settings, ep.kafka_bootstrap, ep.kafka_security, url)
            stop = asyncio.Event()
            task = asyncio.create_task(bridge.run(stop))
            await wait(
                lambda: bridge.manager is not None and bridge.manager.connected.is_set(),
                30,
                "the bridge's channels",
            )
            fwd = bridge.forwarder
            assert fwd is not None
            started = time.monotonic()
            plan = (
                await http.post(
                    "/emulator/feed", json={"sessions": sessions, "rate": 0, "queues": 3}
                )
            ).json()
            n = int(plan["notifications"])
            await wait(lambda: fwd.stats.forwarded >= n, 300, "every notification acked")
            took = time.monotonic() - started
            lat = sorted(fwd.stats.ack_latency_s)
            out["throughput"] = {
                "notifications": n,
                "seconds": round(took, 2),
                "per_second": round(n / took),
                "batch_ack_p50_ms": round(lat[len(lat) // 2] * 1000, 1),
                "batch_ack_p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1),
            }
            print(json.dumps(out), flush=True)
            while (await http.get("/emulator/status")).json()["feeding"]:
                await asyncio.sleep(0.05)
            # Recovery: a steady feed, the sockets dropped in the middle.
            plan = (
                await http.post(
                    "/emulator/feed",
                    json={"sessions": drop_sessions, "rate": 200, "queues": 3, "seed": 8},
                )
            ).json()
            await asyncio.sleep(plan["notifications"] / 200 / 2)
            manager, backfill = bridge.manager, bridge.backfiller
            assert manager is not None
            assert backfill is not None
            dropped = time.monotonic()
            await http.post("/emulator/faults", json={"drop_sockets": True})
            await wait(lambda: manager.reconnects >= 1 and manager.recovery_s, 30, "a reconnect")
            await wait(lambda: backfill.filled >= 1, 300, "the backfill")
            out["recovery"] = {
                "socket_reading_again_s": round(manager.recovery_s[0], 3),
                "gap_backfilled_s": round(time.monotonic() - dropped, 2),
                "backfilled_states": backfill.conversations,
            }
            stop.set()
            await task
    finally:
        emu.terminate()
        emu.wait(10)
        conn = await asyncpg.connect(ep.database_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=600)
    parser.add_argument("--drop-sessions", type=int, default=60)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.sessions, args.drop_sessions)), indent=2))


if __name__ == "__main__":
    main()
