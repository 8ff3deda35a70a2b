"""The ops server every long-running process shares: liveness, readiness naming the failed
check, Prometheus text, and a clear refusal when its port is taken. Real sockets on loopback."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter

from processor.errors import ConfigError
from processor.ops_server import ReadyReport, serve_ops


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _registry() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("chatstate_example_total", "An example", registry=r).inc(3)
    return r


async def _ready() -> ReadyReport:
    return ReadyReport({"kafka": "ok", "postgres": "ok"})


async def _pg_down() -> ReadyReport:
    return ReadyReport({"kafka": "ok", "postgres": ReadyReport.check(False, "unreachable")})


async def test_port_zero_serves_nothing() -> None:
    assert await serve_ops("127.0.0.1", 0, ready=_ready, registry=_registry()) is None


async def test_healthz_readyz_and_metrics_answer_when_ready() -> None:
    server = await serve_ops("127.0.0.1", _free_port(), ready=_ready, registry=_registry())
    assert server is not None
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            live = await http.get("/healthz")
            ready = await http.get("/readyz")
            metrics = await http.get("/metrics")
        assert live.status_code == 200
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"kafka": "ok", "postgres": "ok"}}
        assert ready.headers["cache-control"] == "no-store"
        assert metrics.status_code == 200
        assert metrics.headers["content-type"] == CONTENT_TYPE_LATEST
        assert "chatstate_example_total 3.0" in metrics.text
    finally:
        await server.close()


async def test_readyz_is_503_naming_the_failed_check() -> None:
    server = await serve_ops("127.0.0.1", _free_port(), ready=_pg_down, registry=_registry())
    assert server is not None
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            ready = await http.get("/readyz")
            live = await http.get("/healthz")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "unavailable", "checks": {"kafka": "ok", "postgres": "unreachable"},
        }
        assert live.status_code == 200  # a dependency down is not a reason to restart
    finally:
        await server.close()


async def test_a_probe_that_hangs_or_raises_is_a_503_not_a_hang() -> None:
    async def hangs() -> ReadyReport:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    async def raises() -> ReadyReport:
        raise RuntimeError("secret=hunter2")

    slow = await serve_ops("127.0.0.1", _free_port(), ready=hangs, registry=_registry(),
                           ready_timeout_s=0.2)
    bad = await serve_ops("127.0.0.1", _free_port(), ready=raises, registry=_registry())
    assert slow is not None
    assert bad is not None
    try:
        async with httpx.AsyncClient() as http:
            timed_out = await http.get(f"{slow.url}/readyz", timeout=5)
            failed = await http.get(f"{bad.url}/readyz", timeout=5)
        assert timed_out.status_code == 503
        assert timed_out.json()["checks"] == {"probe": "no answer within 0.2 s"}
        assert failed.status_code == 503
        assert failed.json()["checks"] == {"probe": "failed (RuntimeError)"}
        assert "hunter2" not in failed.text  # an exception's message never reaches the body
    finally:
        await slow.close()
        await bad.close()


async def test_a_taken_port_is_refused_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="CHATSTATE_WORKER_HTTP_PORT"):
            await serve_ops("127.0.0.1", port, ready=_ready, registry=_registry(),
                            setting="CHATSTATE_WORKER_HTTP_PORT")
