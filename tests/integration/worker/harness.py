"""Driving a real worker in tests: start/kill it as a subprocess, feed it Genesys traffic, wait
for the database, and compute what the database must hold by replaying the pure lifecycle over
the internal topic (the oracle that makes crash tests exact)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from processor.bench.replay import replay_updates
from processor.core.internal_records import decode
from processor.core.lifecycle import LifecyclePolicy
from processor.db import init_connection
from processor.producer import make_producer
from processor.sim.genesys import Leg, queue_conversation
from processor.worker.session_tables import load_sessions
from schemas.commands import SessionUpdate
from schemas.session import SessionState
from tests.conftest import StackSlice

ROOT = Path(__file__).parents[3]
QUEUE = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
CUSTOMER_HASH = "ab" * 32


class Worker:
    """One ``chatstate worker`` subprocess."""

    def __init__(self, env: StackSlice, log: Path, app_id: str, **settings: str) -> None:
        self.env, self.log_path, self.app_id = env, log, app_id
        self.http_port = free_port()  # its /healthz, /readyz, /metrics (several run at once)
        self.vars = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": env.kafka_bootstrap,
            "DATABASE_URL": env.database_url,
            "CHATSTATE_TOPIC_PREFIX": env.topic_prefix,
            "CHATSTATE_APP_ID": app_id,
            "CHATSTATE_STATE_DIR": str(log.parent / "state"),
            "CHATSTATE_LOG_FORMAT": "json",
            "CHATSTATE_SCAN_INTERVAL_S": "1",
            "CHATSTATE_BATCH_WITHIN_S": "0.05",
            "CHATSTATE_WORKER_HTTP_PORT": str(self.http_port),
            **{f"CHATSTATE_{k.upper()}": v for k, v in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        out = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "processor.cli", "worker"],
            env=self.vars,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or committed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def ops_url(self) -> str:
        return f"http://127.0.0.1:{self.vars['CHATSTATE_WORKER_HTTP_PORT']}"

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def free_port() -> int:
    """A port nothing listens on now (the worker binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- feeding -------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def conversation_event(
    conv: uuid.UUID,
    psid: uuid.UUID | None,
    state: str,
    at: datetime,
    *,
    legacy: bool = False,
    resumed_from: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A queue conversation notification (web messaging) whose customer is in ``state``."""
    attrs = {}
    prefix = "context." if legacy else ""
    if psid is not None:
        attrs[f"{prefix}persistentSessionId"] = str(psid)
        attrs[f"{prefix}customerIdHashed"] = CUSTOMER_HASH
    if resumed_from is not None:
        attrs[f"{prefix}resumedFromConversationId"] = str(resumed_from)
    ended = state in ("disconnected", "terminated")
    customer = Leg(
        participant_id=uuid.uuid5(conv, "customer"),
        purpose="customer",
        state=state,
        start=at,
        connected=at,
        end=at if ended else None,
        disconnect_type="client" if ended else None,
        queue_id=QUEUE,
        attributes=attrs,
    )
    return queue_conversation(QUEUE, conv, [customer], "messages", "messages", uuid.uuid4())


def snapshot_body(
    psid: uuid.UUID,
    conv: uuid.UUID | None,
    at: datetime,
    steps: int,
    intent: str = "billing",
    message: str = "Thanks, checking that now.",
) -> dict[str, Any]:
    return {
        "persistentSessionId": str(psid),
        "conversationId": str(conv) if conv else "",
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "stateSnapshot": {"intent": intent, "stepsCompleted": steps, "lastAgentMessage": message},
        "customProperties": {"customerIdHashed": CUSTOMER_HASH},
    }


class Feeder:
    """Produces to the test's own input topics with the project's producer factory."""

    def __init__(self, env: StackSlice) -> None:
        self.env = env
        self.producer = make_producer(env.kafka_bootstrap, env.kafka_security, linger_ms=5)
        self.sent = 0

    async def __aenter__(self) -> Feeder:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def raw(self, logical: str, key: str | bytes | None, value: bytes) -> None:
        k = key.encode() if isinstance(key, str) else key
        await self.producer.send_and_wait(self.env.topic(logical), value, key=k)
        self.sent += 1

    async def event(self, envelope: dict[str, Any]) -> None:
        body = envelope.get("eventBody", {})
        key = body.get("id") or body.get("conversationId")
        await self.raw("genesys.conversations", key, json.dumps(envelope).encode())

    async def snapshot(self, body: dict[str, Any]) -> None:
        await self.raw("chat.snapshots", body["persistentSessionId"], json.dumps(body).encode())

    async def many(self, records: list[tuple[str, str | None, bytes]]) -> None:
        futures = [
            await self.producer.send(self.env.topic(t), v, key=k.encode() if k else None)
            for t, k, v in records
        ]
        await asyncio.gather(*futures)
        self.sent += len(records)


# --- waiting and reading -------------------------------------------------------------------------


async def eventually(
    check: Callable[[], Awaitable[Any]],
    timeout: float = 60.0,
    what: str = "condition",
    worker: Worker | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        if worker is not None and not worker.alive():
            raise AssertionError(f"worker died while waiting for {what}:\n{worker.log_tail()}")
        await asyncio.sleep(0.25)
    tail = f"\n{worker.log_tail()}" if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r}){tail}")


async def connect(env: StackSlice) -> asyncpg.Connection:
    conn = await asyncpg.connect(env.database_url)
    await init_connection(conn)
    return conn


async def db_sessions(env: StackSlice) -> dict[uuid.UUID, SessionState]:
    conn = await connect(env)
    try:
        ids = [r[0] for r in await conn.fetch("SELECT persistent_session_id FROM sessions")]
        return await load_sessions(conn, ids)
    finally:
        await conn.close()


async def read_topic(env: StackSlice, logical: str, timeout: float = 3.0) -> list[Any]:
    """Every record of one of the test's topics, partition by partition, in offset order."""
    topic = env.topic(logical)
    security = env.kafka_security.client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, **security)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    parts = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=env.kafka_bootstrap, enable_auto_commit=False, **security
    )
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: dict[int, list[Any]] = {tp.partition: [] for tp in parts}
        deadline = time.monotonic() + timeout + 30

        async def behind() -> bool:
            return any([(await consumer.position(tp)) < ends[tp] for tp in parts])

        while await behind():
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                out[tp.partition].extend(records)
        return [r for p in sorted(out) for r in out[p]]
    finally:
        await consumer.stop()


async def internal_progress(env: StackSlice, app_id: str) -> tuple[int, int]:
    """(records applied per consumer_positions, records in the internal topic)."""
    records = await read_topic(env, "chatstate.session-updates")
    conn = await connect(env)
    try:
        applied = await conn.fetchval(
            "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions WHERE consumer = $1",
            app_id,
        )
    finally:
        await conn.close()
    return int(applied), len(records)


def replay(
    records: list[Any], policy: LifecyclePolicy
) -> tuple[dict[uuid.UUID, SessionState], int]:
    """The oracle: the pure lifecycle folded over the internal topic, session by session in
    partition order — exactly what stage 2 must have applied, each update once. The same fold
    the fault suite judges by (``processor.bench.replay``). Returns the sessions and how many
    updates the records held (each record is a batch, ``schemas/updates.py``)."""
    r = replay_updates([[(r.key, r.value) for r in records]], policy)
    return r.sessions, r.updates


def internal_updates(records: list[Any]) -> list[SessionUpdate]:
    """Every update the internal topic's records hold, in order."""
    out: list[SessionUpdate] = []
    for r in records:
        for d in decode(r.value or b""):
            assert d.update is not None, f"an unreadable internal record ({d.error})"
            out.append(d.update)
    return out


# The oracle's own list, on purpose (not ``processor.core.session_rows``): a column the row
# shape forgot to load or save must show here as a difference, not vanish from both sides.
_COMPARED = (
    "status",
    "version",
    "customer_id_hashed",
    "current_conversation_id",
    "resumed_from_conversation_id",
    "latest_snapshot",
    "latest_snapshot_at",
    "latest_snapshot_content_id",
    "last_interaction_at",
    "expires_at",
)


def comparable(s: SessionState) -> dict[str, Any]:
    """What the database must equal (timestamps rounded to PostgreSQL's microseconds)."""
    data = {f: getattr(s, f) for f in _COMPARED}
    data["conversations"] = sorted(
        (
            str(c.conversation_id),
            c.state.value,
            c.concurrent_with,
            c.resumed_from_conversation_id,
            c.ended_at,
        )
        for c in s.conversations
    )
    return data


def policy_for(ttl: timedelta = timedelta(hours=72)) -> LifecyclePolicy:
    return LifecyclePolicy(ttl=ttl, retention=timedelta(days=90))
