"""A real ``chatstate worker`` answers its ops port: /healthz while it runs, /readyz 200 once it
has its partitions and both servers answer (503 naming PostgreSQL when the database cannot be
reached), /metrics with the chatstate series counting what it processed."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import StackSlice
from tests.integration.worker.harness import (
    T0,
    Feeder,
    Worker,
    conversation_event,
    eventually,
    free_port,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _get(url: str) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.get(url)
    except httpx.TransportError:
        return None  # not listening yet


def _sample(text: str, name: str) -> float | None:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_worker_is_ready_once_assigned_and_its_metrics_count_records(
    env: StackSlice, tmp_path: Path
) -> None:
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}").start()
    try:
        async def ready() -> httpx.Response | None:
            r = await _get(f"{worker.ops_url}/readyz")
            return r if r is not None and r.status_code == 200 else None

        r = await eventually(ready, timeout=90, what="/readyz 200", worker=worker)
        assert r.json() == {
            "status": "ready",
            "checks": {"partitions": "ok", "stage1": "ok", "kafka": "ok", "postgres": "ok",
                       "shutdown": "ok"},
        }
        live = await _get(f"{worker.ops_url}/healthz")
        assert live is not None
        assert live.status_code == 200

        async with Feeder(env) as feed:
            await feed.event(conversation_event(uuid.uuid4(), uuid.uuid4(), "connected", T0))

        async def counted() -> str | None:
            m = await _get(f"{worker.ops_url}/metrics")
            if m is None or m.status_code != 200:
                return None
            read = _sample(m.text, "chatstate_stage1_records_total")
            return m.text if read is not None and read >= 1 else None

        text = await eventually(counted, what="stage 1 counted the record", worker=worker)
        for series in ("chatstate_stage1_updates_total", "chatstate_stage2_applied_total",
                       'chatstate_batch_seconds_bucket{le="+Inf",stage="apply"}',
                       'chatstate_alerts_total{type="persistence_degraded"} 0.0',
                       'chatstate_stalled{dependency="database"} 0.0',
                       "chatstate_outbox_backlog_records", "process_resident_memory_bytes",
                       "chatstate_parked_index_conversations"):
            assert series in text, series
        read = 'chatstate_records_in_total{stage="normalise",topic="genesys.conversations"}'
        assert (_sample(text, read) or 0) >= 1
        assert (_sample(text, 'chatstate_batch_size_count{stage="normalise"}') or 0) >= 1

        async def lag_reported() -> str | None:
            m = await _get(f"{worker.ops_url}/metrics")
            text = m.text if m else ""
            lags = {
                topic: re.findall(
                    rf'^chatstate_consumer_lag\{{partition="\d+",topic="{topic}"\}} (\S+)$',
                    text, re.MULTILINE,
                )
                for topic in ("genesys.conversations", "chatstate.session-updates")
            }
            done = all(v and all(float(x) == 0 for x in v) for v in lags.values())
            return text if done else None

        # Both stages' partitions are reported (stage 1's own consumer through
        # WorkerMetrics.lag_sources), and nothing is left behind once processed.
        await eventually(lag_reported, what="consumer lag 0 per partition", worker=worker)
    finally:
        worker.stop()


async def test_readyz_is_503_naming_postgres_when_the_database_is_unreachable(
    env: StackSlice, tmp_path: Path
) -> None:
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}")
    # Nothing listens there: the worker still joins its group, but cannot be ready.
    worker.vars["DATABASE_URL"] = f"postgresql://chatstate@127.0.0.1:{free_port()}/nowhere"
    worker.start()
    try:
        async def assigned_but_unready() -> httpx.Response | None:
            r = await _get(f"{worker.ops_url}/readyz")
            if r is None or r.json()["checks"]["partitions"] != "ok":
                return None
            return r

        r = await eventually(assigned_but_unready, timeout=90, what="assigned", worker=worker)
        assert r.status_code == 503
        assert r.json() == {
            "status": "unavailable",
            "checks": {"partitions": "ok", "stage1": "ok", "kafka": "ok",
                       "postgres": "unreachable", "shutdown": "ok"},
        }
        live = await _get(f"{worker.ops_url}/healthz")
        assert live is not None
        assert live.status_code == 200
    finally:
        worker.stop()
