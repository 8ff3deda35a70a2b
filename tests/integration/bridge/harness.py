"""Driving the bridge in tests: the emulator in a thread, the bridge in this test's loop (or as a
``chatstate bridge`` subprocess for SIGKILL), and what reached ``genesys.conversations`` read
back through stage 1's own parser, so "the final state arrived" means what the worker sees."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from processor.bridge import Bridge
from processor.core.normalise import parse_genesys
from processor.emulator import EmulatorServer
from processor.emulator.feed import Feed
from schemas.observation import Accepted, ConversationState
from tests.conftest import StackSlice
from tests.integration.worker.harness import Worker
from tests.integration.worker.harness import read_topic as read_records

ROOT = Path(__file__).parents[3]


def bridge_settings(emu: EmulatorServer, **overrides: Any) -> dict[str, Any]:
    return {
        "genesys_api_base_url": emu.url,
        "genesys_login_base_url": emu.url,
        "genesys_client_id": emu.org.client_id,
        "genesys_client_secret": emu.org.client_secret,
        "bridge_heartbeat_timeout_s": 3.0,
        "bridge_lease_retry_s": 0.5,
        "bridge_http_port": 0,
        "genesys_rate_per_min": 60_000.0,
        **overrides,
    }


@contextlib.asynccontextmanager
async def running_bridge(
    env: StackSlice, emu: EmulatorServer, writeback_backoff_s: float = 0.05, **overrides: Any
) -> AsyncIterator[Bridge]:
    settings = env.settings(**bridge_settings(emu, **overrides))
    bridge = Bridge(
        settings,
        env.kafka_bootstrap,
        env.kafka_security,
        env.database_url,
        writeback_backoff_s=writeback_backoff_s,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(stop))
    _RUNNING[id(bridge)] = (stop, task)
    try:
        yield bridge
    finally:
        await stop_bridge(bridge)


_RUNNING: dict[int, tuple[asyncio.Event, asyncio.Task[None]]] = {}


async def stop_bridge(bridge: Bridge) -> None:
    """Stop a bridge started by :func:`running_bridge` (its lease connection closes, as on a
    crash): idempotent, so a test may stop one early."""
    stop, task = _RUNNING[id(bridge)]
    stop.set()
    await asyncio.wait_for(task, 30)


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def feed(emu: EmulatorServer) -> Feed:
    return emu.app.state.feed  # type: ignore[no-any-return]


async def control(emu: EmulatorServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient() as c:
        resp = await c.post(f"{emu.url}{path}", json=body)
        resp.raise_for_status()
        return dict(resp.json())


async def start_feed(emu: EmulatorServer, **body: Any) -> dict[str, Any]:
    return await control(emu, "/emulator/feed", body)


async def feed_done(emu: EmulatorServer, timeout: float = 60) -> None:
    f = feed(emu)
    await until(lambda: f.fed > 0 and not f.running, timeout, "the feed to finish")


@dataclass
class Seen:
    """What stage 1 would make of the topic: per conversation, the states observed."""

    records: int = 0
    backfilled: int = 0
    ended: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    raw: list[bytes] = field(default_factory=list)
    headers: list[dict[str, bytes]] = field(default_factory=list)


async def read_topic(env: StackSlice) -> Seen:
    out = Seen()
    for r in await read_records(env, "genesys.conversations"):
        out.records += 1
        headers = dict(r.headers)
        out.headers.append(headers)
        out.raw.append(r.value or b"")
        if "chatstate-backfill" in headers:
            out.backfilled += 1
        result = parse_genesys(r.value or b"")
        assert isinstance(result, Accepted), result
        cid = str(result.observation.conversation_id)
        assert r.key == cid.encode()
        out.seen.add(cid)
        if result.observation.state is ConversationState.ENDED:
            out.ended.add(cid)
    return out


def missing_final_states(emu: EmulatorServer, seen: Seen) -> dict[str, list[str]]:
    """Conversations of the fed plan whose final state never reached the topic."""
    sim = feed(emu).simulation
    assert sim is not None
    unseen, not_ended = [], []
    for plan in sim.plans:
        for c in plan.conversations:
            cid = str(c.conversation_id)
            if cid not in seen.seen:
                unseen.append(cid)
            elif c.ends and cid not in seen.ended:
                not_ended.append(cid)
    return {"unseen": unseen, "not_ended": not_ended}


_UNPREFIXED = {
    "genesys_api_base_url",
    "genesys_login_base_url",
    "genesys_client_id",
    "genesys_client_secret",
    "genesys_queue_ids",
    "genesys_region",
}


class BridgeProcess(Worker):
    """``chatstate bridge`` as a subprocess (SIGKILL tests): the worker harness's process
    handling (kill, stop, log tail) with the bridge's command and settings."""

    def __init__(self, env: StackSlice, emu: EmulatorServer, log: Path, **overrides: Any) -> None:
        settings = bridge_settings(emu, **overrides)
        self.env, self.log_path, self.app_id = env, log, "chatstate"
        self.vars = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": env.kafka_bootstrap,
            "DATABASE_URL": env.database_url,
            "CHATSTATE_TOPIC_PREFIX": env.topic_prefix,
            "CHATSTATE_LOG_FORMAT": "json",
            **{
                k.upper() if k in _UNPREFIXED else f"CHATSTATE_{k.upper()}": str(v)
                for k, v in settings.items()
            },
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> BridgeProcess:
        out = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "processor.cli", "bridge"],
            env=self.vars,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        return self

    def log_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out
