"""Benchmark (not a test) of the HTTP API against the real Kafka and PostgreSQL.

Serves ``chatstate api`` exactly as shipped (uvicorn workers, uvloop, httptools) on a free port,
with a private database and uuid-prefixed topics on the running stack, and drives it with wrk:
50 connections in a closed loop, each waiting for its answer before sending the next request.

* ``GET /healthz``: the same-run reference, what HTTP, uvicorn and the machine cost alone;
* ``POST /v1/chat-state/persist``: a bearer token (scope snapshots), a distinct snapshot per
  request over 200 sessions, 202 only after Kafka acknowledged it (acks=all);
* ``GET /v1/sessions/{id}/context``: a bearer token (scope sessions), over the same sessions,
  each seeded like a resumed chat (an ended and a live conversation, a latest snapshot) so the
  answer has its real size.

What authentication costs is measured two ways in the same run. (1) A second API, identical but
started with ``benchmarks/without_auth/`` first on ``PYTHONPATH`` (a bench-only
``sitecustomize`` that makes ``guard.authorise`` check nothing: production code has no switch
to turn authentication off), answers persist and context too; the two servers are measured
alternately. (2) ``authorise`` itself is timed in-process on the remembered-token path every
request takes, and set against the API CPU a request costs.

Each endpoint gets a warm-up (fills the database pool, JITs nothing but warms every cache) and
then a measured run. Prints requests/s, p50/p90/p99 and the non-2xx count, and each endpoint
as a ratio of the reference.

    .venv/bin/python benchmarks/api_bench.py [--duration 15] [--connections 50] [--workers N]

Needs ``wrk`` (``apt-get install wrk``; ``make bench-api`` installs it). wrk is a C load
generator: the earlier httpx-based client cost more CPU than the server it measured (/healthz
721 req/s with httpx against 5,199 with wrk on this machine), and the two share the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from pydantic import SecretStr

from processor.api.clients import hash_secret
from processor.bench.space import create_space, drop_space
from processor.db import init_connection
from processor.devstack.resolve import endpoints
from processor.settings import Settings

CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-synthetic"
SIGNING_KEY = "bench-only-signing-key-" + "0" * 32
WITHOUT_AUTH = Path(__file__).resolve().parent / "without_auth"

# wrk calls done() once at the end; it prints one JSON line the bench parses.
_DONE = """
done = function(summary, latency, requests)
  io.write(string.format(
    '\\nBENCH {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

_SESSIONS_LUA = """
local sessions = {}
for line in io.lines("%(sessions)s") do
  local psid, customer = line:match("(%%S+) (%%S+)")
  sessions[#sessions + 1] = {psid, customer}
end
local i = 0
"""

_CONTEXT = _SESSIONS_LUA + """
local token = "%(token)s"
request = function()
  i = i + 1
  local s = sessions[(i %% #sessions) + 1]
  return wrk.format("GET", "/v1/sessions/" .. s[1] .. "/context",
                    {["X-Customer-Id-Hashed"] = s[2], ["Authorization"] = "Bearer " .. token})
end
"""

_PERSIST = _SESSIONS_LUA + """
local token = "%(token)s"
request = function()
  i = i + 1
  local s = sessions[(i %% #sessions) + 1]
  local body = string.format(
    '{"persistentSessionId":"%%s","conversationId":"%%08x-0000-4000-8000-%%012x",'
    .. '"timestamp":"2025-03-01T12:00:00.000Z","stateSnapshot":{"intent":"billing",'
    .. '"stepsCompleted":%%d,"lastAgentMessage":"Step %%d: thanks, one moment"}}',
    s[1], i %% 4294967296, i, i %% 10, i)
  return wrk.format("POST", "/v1/chat-state/persist",
                    {["Content-Type"] = "application/json",
                     ["Authorization"] = "Bearer " .. token}, body)
end
"""


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    busy_pct: float = float("nan")  # the machine's CPU while this endpoint was measured
    steal_pct: float = float("nan")
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds by owner, this run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def cpu_us_per_request(self, owner: str) -> float:
        return 1e6 * self.cpu_s.get(owner, float("nan")) / max(1, self.requests)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wrk(url: str, script: Path, seconds: float, connections: int) -> Result:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s",
         "-s", str(script), url],
        check=True, capture_output=True, text=True,
    ).stdout
    match = re.search(r"^BENCH (.*)$", out, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    d = json.loads(match.group(1))
    return Result(script.stem, d["requests"], d["duration_us"] / 1e6, d["p50_us"] / 1000,
                  d["p90_us"] / 1000, d["p99_us"] / 1000, d["max_us"] / 1000, d["non2xx"],
                  d["socket_errors"])


async def _seed(db_url: str, psids: list[str], now: datetime) -> None:
    """Give every session what a resumed web-messaging chat has: an ended conversation, a live
    one that resumed it, and a latest snapshot (written as the worker would)."""
    conn = await asyncpg.connect(db_url)
    await init_connection(conn)
    try:
        for k, psid in enumerate(psids):
            old, live = uuid.uuid4(), uuid.uuid4()
            started = now - timedelta(hours=30)
            await conn.execute(
                """INSERT INTO session_conversations (conversation_id, persistent_session_id,
                       state, media_type, started_at, ended_at, disconnect_type,
                       resumed_from_conversation_id, first_seen_at, updated_at)
                   VALUES ($1, $3, 'ended', 'message', $4, $5, 'peer', NULL, $4, $5),
                          ($2, $3, 'live', 'message', $6, NULL, NULL, $1, $6, $6)""",
                old, live, uuid.UUID(psid), started, started + timedelta(minutes=20),
                now - timedelta(minutes=5))
            await conn.execute(
                """UPDATE sessions SET status = 'active', current_conversation_id = $2,
                       latest_snapshot = $3, latest_snapshot_at = $4, last_interaction_at = $4
                   WHERE persistent_session_id = $1""",
                uuid.UUID(psid), live,
                {"intent": "billing", "stepsCompleted": k % 10, "orderRef": f"ORD-{k:06d}",
                 "lastAgentMessage": "I have raised the refund; it takes 3-5 working days."},
                now - timedelta(minutes=4))
    finally:
        await conn.close()


async def _start(command: list[str], env: dict[str, str], log_path: Path, base: str
                 ) -> subprocess.Popen[bytes]:
    log = log_path.open("w")
    # Popen returns at once (the server runs beside us); nothing here blocks the loop.
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(150):
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"the API did not become ready; see {log_path}")


def _authorise_cost_us(rounds: int = 200_000) -> tuple[float, float]:
    """Microseconds per call of what authentication adds to a request, in this process:
    ``guard.authorise`` on the remembered-token path (what every request but a token's first
    takes), and the same request's bare handling without it (reading the header only), for
    scale."""
    from starlette.requests import Request

    from processor.api.app import create_app
    from processor.api.deps import ApiState, state_of
    from processor.api.guard import authorise

    settings = Settings().model_copy(update={
        "token_signing_key": SecretStr(SIGNING_KEY), "oauth_clients": {CLIENT_ID: {
            "secret_hash": hash_secret(CLIENT_SECRET), "scopes": ["sessions", "snapshots"]}}})
    app = create_app(settings, kafka_bootstrap="unused:0", database_url="unused")
    state: ApiState = app.state.chatstate
    token, _ = state.signer.issue(CLIENT_ID, ["snapshots"], int(time.time()))
    request = Request({"type": "http", "app": app, "method": "POST", "path": "/",
                       "headers": [(b"authorization", f"Bearer {token}".encode())]})
    authorise(request, "snapshots")  # verified once, then remembered
    started = time.perf_counter()
    for _ in range(rounds):
        authorise(request, "snapshots")
    with_auth = (time.perf_counter() - started) / rounds * 1e6
    started = time.perf_counter()
    for _ in range(rounds):
        state_of(request)
        request.headers.get("authorization")
    bare = (time.perf_counter() - started) / rounds * 1e6
    return with_auth, bare


async def main(seconds: float, connections: int, workers: int | None, sessions: int) -> None:
    if shutil.which("wrk") is None:
        sys.exit("api_bench: wrk is not installed (apt-get install wrk, or make bench-api)")
    settings = Settings()
    ep = endpoints(settings)
    space = await create_space(ep.kafka_bootstrap, ep.database_url, label="apibench",
                               security=ep.kafka_security)
    db_url = space.database_url

    port, bare_port = _free_port(), _free_port()
    base, bare_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": ep.kafka_bootstrap, "DATABASE_URL": db_url,
           "CHATSTATE_TOPIC_PREFIX": space.prefix, "CHATSTATE_LOG_FORMAT": "json",
           "CHATSTATE_TOKEN_SIGNING_KEY": SIGNING_KEY, "CHATSTATE_API_OPS_PORT": "0",
           "CHATSTATE_OAUTH_CLIENTS": json.dumps({CLIENT_ID: {
               "secret_hash": hash_secret(CLIENT_SECRET), "scopes": ["sessions", "snapshots"]}})}
    bare_env = {**env, "PYTHONPATH": os.pathsep.join(
        [str(WITHOUT_AUTH), *filter(None, [os.environ.get("PYTHONPATH")])])}
    chatstate = str(Path(sys.executable).parent / "chatstate")
    extra = ["--workers", str(workers)] if workers is not None else []
    served_by = workers or settings.api_workers
    scratch = Path(tempfile.mkdtemp(prefix="api-bench-"))
    log = scratch / "server.log"
    servers: list[subprocess.Popen[bytes]] = []
    try:
        servers.append(await _start([chatstate, "api", "--port", str(port), *extra], env, log,
                                    base))
        servers.append(await _start([chatstate, "api", "--port", str(bare_port), *extra],
                                    bare_env, scratch / "server-without-auth.log", bare_base))
        async with httpx.AsyncClient(base_url=base) as http:
            token = (await http.post("/oauth/token", data={
                "grant_type": "client_credentials", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET})).json()["access_token"]
            customers = [hashlib.sha256(f"bench-customer-{i}".encode()).hexdigest()
                         for i in range(sessions)]
            auth = {"Authorization": f"Bearer {token}"}
            psids = [(await http.post("/v1/sessions", json={"customerIdHashed": c},
                                      headers=auth)).json()["persistentSessionId"]
                     for c in customers]
            refused = (await http.get(f"/v1/sessions/{psids[0]}/context")).status_code
        if refused != 401:
            raise RuntimeError(f"the API answered {refused} to a request without a token")
        await _seed(db_url, psids, datetime.now(UTC))
        listing = scratch / "sessions.txt"
        listing.write_text("".join(f"{p} {c}\n" for p, c in zip(psids, customers, strict=True)))
        persist = _PERSIST % {"sessions": listing, "token": token}
        context = _CONTEXT % {"sessions": listing, "token": token}
        # (name, script stem, lua, base URL, the server's pid): each endpoint with and without
        # authentication back to back, so a slower moment of the machine hits both alike.
        runs = [
            ("GET /healthz (reference)", "healthz", "request = nil\n", base + "/healthz", 0),
            ("POST /v1/chat-state/persist", "persist", persist, base, 0),
            ("  same, without auth", "persist-bare", persist, bare_base, 1),
            ("GET /v1/sessions/{id}/context", "context", context, base, 0),
            ("  same, without auth", "context-bare", context, bare_base, 1),
        ]
        results: list[Result] = []
        for name, stem, lua, url, which in runs:
            script = scratch / f"{stem}.lua"
            script.write_text(lua + _DONE)
            pid = servers[which].pid
            # wrk blocks this coroutine on purpose: nothing else runs meanwhile.
            _wrk(url, script, max(3.0, seconds / 3), connections)  # warm-up
            before, owners_before = _cpu_ticks(), _cpu_by_owner(pid)
            result = _wrk(url, script, seconds, connections)
            result.name = name
            result.busy_pct, result.steal_pct = _cpu_share(before, _cpu_ticks())
            owners_after = _cpu_by_owner(pid)
            result.cpu_s = {k: owners_after[k] - owners_before.get(k, 0.0)
                            for k in owners_after}
            results.append(result)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(15)
        await drop_space(space)
    auth_us, bare_us = _authorise_cost_us()

    print(f"\nwrk, {connections} connections (closed loop), {seconds:.0f} s per endpoint after a "
          f"warm-up; {served_by} API process(es); {sessions} sessions; {os.cpu_count()} CPUs "
          f"shared with Kafka, PostgreSQL and wrk; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"server log {log}\n")
    print(f"| {'endpoint':<31} | {'req/s':>6} | {'p50 ms':>6} | {'p90 ms':>6} | {'p99 ms':>6} "
          f"| {'max ms':>6} | {'non-2xx':>7} | {'CPU %':>5} | {'steal %':>7} |")
    print(f"|{'-' * 33}|{'-' * 7}:|{'-' * 7}:|{'-' * 7}:|{'-' * 7}:|{'-' * 7}:|{'-' * 8}:"
          f"|{'-' * 6}:|{'-' * 8}:|")
    for r in results:
        print(f"| {r.name:<31} | {r.rps:>6.0f} | {r.p50_ms:>6.1f} | {r.p90_ms:>6.1f} "
              f"| {r.p99_ms:>6.1f} | {r.max_ms:>6.1f} | {r.non2xx + r.socket_errors:>7} "
              f"| {r.busy_pct:>5.0f} | {r.steal_pct:>7.1f} |")
    print(f"\nCPU per request, microseconds (from /proc; the machine has {os.cpu_count()} CPUs "
          f"for all of it):\n")
    print(f"| {'endpoint':<31} | {'API':>6} | {'Kafka':>6} | {'PostgreSQL':>10} | {'wrk':>6} |")
    print(f"|{'-' * 33}|{'-' * 7}:|{'-' * 7}:|{'-' * 11}:|{'-' * 7}:|")
    for r in results:
        print(f"| {r.name:<31} | {r.cpu_us_per_request('api'):>6.0f} "
              f"| {r.cpu_us_per_request('kafka'):>6.0f} "
              f"| {r.cpu_us_per_request('postgres'):>10.0f} "
              f"| {r.cpu_us_per_request('wrk'):>6.0f} |")
    ref = results[0]
    print()
    for r in results[1::2]:
        print(f"{r.name}: {r.rps / ref.rps:.2f}x the reference's requests/s, "
              f"p99 {r.p99_ms / ref.p99_ms:.1f}x its p99; goal p99 < 50 ms: "
              f"{'met' if r.p99_ms < 50 else 'MISSED'}")
    costs = {}
    for with_auth, without in ((results[1], results[2]), (results[3], results[4])):
        cost = 1 - with_auth.rps / without.rps  # negative: the run with it was faster
        cpu_cost = (with_auth.cpu_us_per_request("api") / without.cpu_us_per_request("api")) - 1
        share = auth_us / with_auth.cpu_us_per_request("api")
        costs[with_auth.name] = {"rpsCostPct": round(100 * cost, 1),
                                 "apiCpuCostPct": round(100 * cpu_cost, 1),
                                 "authoriseCpuSharePct": round(100 * share, 2)}
        print(f"{with_auth.name}: with authentication {with_auth.rps:.0f} req/s, without "
              f"{without.rps:.0f} (requests/s lost to it: {100 * cost:.1f}%, goal at most 10%; "
              f"negative = the run with it was faster); API CPU per request "
              f"{with_auth.cpu_us_per_request('api'):.0f} against "
              f"{without.cpu_us_per_request('api'):.0f} us ({100 * cpu_cost:+.1f}%); "
              f"authorise() is {100 * share:.2f}% of it")
    print(f"authorise() on a remembered token: {auth_us:.2f} us per request in-process "
          f"(reading the header alone: {bare_us:.2f} us); the wrk difference above is mostly "
          "the machine's run-to-run noise when it is larger than that share")
    print("(CPU %: the whole machine's, all processes; steal %: CPU time the hypervisor took)")
    out = _report(results, {"connections": connections, "apiProcesses": served_by,
                            "sessions": sessions, "secondsPerEndpoint": seconds,
                            "cpus": os.cpu_count(), "serverLog": str(log),
                            "authentication": {"authoriseUsPerRequest": round(auth_us, 3),
                                               "headerOnlyUsPerRequest": round(bare_us, 3),
                                               "byEndpoint": costs}})
    print(f"report: {out}")


def _cpu_ticks() -> list[int]:
    """The machine's CPU time so far (user nice system idle iowait irq softirq steal), in
    ticks, from /proc/stat; empty where there is none."""
    try:
        with open("/proc/stat") as f:
            return [int(v) for v in f.readline().split()[1:9]]
    except OSError:
        return []


_TICK_S = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def _cpu_by_owner(api_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the API processes, Kafka, PostgreSQL and wrk (this script's
    finished children), from /proc: says which part of the machine a request's cost lands on.
    A process that came and went between two readings is not counted (none does here: the
    pool's backends and the broker live through the run)."""
    stats: dict[int, tuple[int, str, float]] = {}  # pid -> (parent, name, cpu seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) * _TICK_S  # utime + stime
        stats[int(entry.name)] = (int(fields[1]), name, cpu)

    def under_api(pid: int) -> bool:
        while pid > 1:
            if pid == api_pid:
                return True
            pid = stats[pid][0] if pid in stats else 0
        return False

    owners = {"api": 0.0, "kafka": 0.0, "postgres": 0.0}
    for pid, (_, name, cpu) in stats.items():
        if under_api(pid):
            owners["api"] += cpu
        elif name == "java":
            owners["kafka"] += cpu
        elif name == "postgres":
            owners["postgres"] += cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    owners["wrk"] = children.ru_utime + children.ru_stime
    return owners


def _cpu_share(before: list[int], after: list[int]) -> tuple[float, float]:
    """Busy and stolen shares of the machine's CPU time between two readings, in percent. The
    machine is a shared VM: steal says how much of a slow run was the host's doing."""
    if len(before) < 8 or len(after) < 8:
        return float("nan"), float("nan")
    d = [a - b for a, b in zip(after, before, strict=True)]
    total = sum(d) or 1
    idle = d[3] + d[4]
    return 100 * (total - idle - d[7]) / total, 100 * d[7] / total


def _report(results: list[Result], config: dict[str, object]) -> Path:
    now = datetime.now(UTC)
    out_dir = Path("results") / f"api-{now.strftime('%Y%m%dT%H%M%SZ')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = results[0]
    report = {
        "kind": "api", "at": now.isoformat(), "config": config,
        "command": sys.argv, "goal": "p99 < 50 ms for persist and context",
        "results": [{
            "endpoint": r.name, "requests": r.requests, "seconds": round(r.seconds, 3),
            "requestsPerS": round(r.rps, 1), "p50Ms": r.p50_ms, "p90Ms": r.p90_ms,
            "p99Ms": r.p99_ms, "maxMs": r.max_ms, "non2xx": r.non2xx + r.socket_errors,
            "machineCpuBusyPct": round(r.busy_pct, 1), "machineCpuStealPct": round(r.steal_pct, 1),
            "cpuUsPerRequest": {k: round(r.cpu_us_per_request(k)) for k in r.cpu_s},
            **({} if r is ref else {"rpsVsReference": round(r.rps / ref.rps, 3),
                                    "p99VsReference": round(r.p99_ms / ref.p99_ms, 3),
                                    "goalMet": r.p99_ms < 50}),
        } for r in results],
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return out_dir / "report.json"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None,
                        help="API processes (default: CHATSTATE_API_WORKERS)")
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.duration, args.connections, args.workers, args.sessions))
