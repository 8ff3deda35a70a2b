"""Benchmark (not a test) of the HTTP API against the real Kafka and PostgreSQL.

Starts ``chatstate api`` (uvicorn) in its own process on a free port, with a private database and
uuid-prefixed topics on the running stack, then drives ``POST /v1/chat-state/persist`` and
``GET /v1/sessions/{id}/context`` with 50 concurrent httpx clients for a fixed number of
requests each, and ``GET /healthz`` the same way as a same-run reference for what the machine,
the client and uvicorn cost by themselves. Prints requests/s and p50/p99 latency.

    .venv/bin/python benchmarks/api_bench.py [--requests 5000] [--concurrency 50]

The load generator runs in this process and the server in another; on a small machine they share
the CPUs, so the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from processor.devstack.resolve import endpoints
from processor.migrate import migrate
from processor.settings import Settings
from processor.topics import Catalog
from processor.topics import apply as apply_topics

CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-synthetic"


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        qs = statistics.quantiles(self.latencies_ms, n=1000, method="inclusive")
        return qs[int(p * 10) - 1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_db(url: str, db: str) -> str:
    return url.rpartition("/")[0] + "/" + db


async def _drive(name: str, base: str, total: int, concurrency: int,
                 call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
                 expect: int) -> Result:
    counter = iter(range(total))
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            for i in counter:
                t0 = time.perf_counter()
                r = await call(client, i)
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != expect:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, total, time.perf_counter() - started, latencies, errors)


async def main(total: int, concurrency: int, sessions: int) -> None:
    settings = Settings()
    ep = endpoints(settings)
    run = uuid.uuid4().hex[:8]
    db_name, prefix = f"bench_{run}", f"bench{run}."
    admin = await asyncpg.connect(ep.database_url)
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    db_url = _with_db(ep.database_url, db_name)
    await migrate(db_url)
    catalog = Catalog.load(settings.topics_file, prefix)
    await apply_topics(catalog, ep.kafka_bootstrap)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": ep.kafka_bootstrap, "DATABASE_URL": db_url,
           "CHATSTATE_TOPIC_PREFIX": prefix, "CHATSTATE_LOG_FORMAT": "json",
           "CHATSTATE_OAUTH_CLIENTS": json.dumps(
               {CLIENT_ID: hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()})}
    log = tempfile.NamedTemporaryFile(prefix="api-bench-", suffix=".log", delete=False)  # noqa: SIM115
    # Popen returns at once (the server runs beside us); nothing here blocks the loop.
    server = subprocess.Popen(  # noqa: ASYNC220
        [str(Path(sys.executable).parent / "chatstate"), "api", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(150):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            token = (await http.post("/oauth/token", data={
                "grant_type": "client_credentials", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET})).json()["access_token"]
            customers = [hashlib.sha256(f"bench-customer-{i}".encode()).hexdigest()
                         for i in range(sessions)]
            psids = [(await http.post("/v1/sessions", json={"customerIdHashed": c})
                      ).json()["persistentSessionId"] for c in customers]
        auth = {"Authorization": f"Bearer {token}"}

        def persist(c: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            return c.post("/v1/chat-state/persist", headers=auth, json={
                "persistentSessionId": psids[i % sessions], "conversationId": str(uuid.uuid4()),
                "timestamp": "2025-03-01T12:00:00.000Z",
                "stateSnapshot": {"intent": "billing", "stepsCompleted": i % 10,
                                  "lastAgentMessage": f"Step {i}: thanks, one moment"}})

        def context(c: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            k = i % sessions
            return c.get(f"/v1/sessions/{psids[k]}/context",
                         headers={"X-Customer-Id-Hashed": customers[k]})

        def healthz(c: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            return c.get("/healthz")

        cases = [("GET /healthz (reference)", healthz, 200),
                 ("POST /v1/chat-state/persist", persist, 202),
                 ("GET /v1/sessions/{id}/context", context, 200)]
        results = []
        for name, call, expect in cases:
            await _drive(name, base, min(500, total), concurrency, call, expect)  # warm-up
            results.append(await _drive(name, base, total, concurrency, call, expect))
    finally:
        server.terminate()
        server.wait(15)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.close()
        from aiokafka.admin import AIOKafkaAdminClient

        kadmin = AIOKafkaAdminClient(bootstrap_servers=ep.kafka_bootstrap)
        await kadmin.start()
        await kadmin.delete_topics([s.name for s in catalog.topics.values()])
        await kadmin.close()

    print(f"\n{total} requests per endpoint, {concurrency} concurrent clients, "
          f"{sessions} sessions, {os.cpu_count()} CPUs (server log: {log.name})\n")
    print(f"| {'endpoint':<32} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |")
    print(f"|{'-' * 34}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    for r in results:
        print(f"| {r.name:<32} | {r.rps:>8.0f} | {r.pct(50):>7.1f} | {r.pct(99):>7.1f} "
              f"| {r.errors:>6} |")
    ref = results[0]
    for r in results[1:]:
        print(f"{r.name}: {r.rps / ref.rps:.2f}x the healthz throughput, "
              f"p99 {r.pct(99) / ref.pct(99):.1f}x the healthz p99")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, args.sessions))
