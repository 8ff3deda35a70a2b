"""``chatstate api`` serves with several uvicorn workers: what must still look like one API."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.api.conftest import ServedApi, api_process
from tests.integration.api.support import StackSlice

pytestmark = pytest.mark.e2e


def test_metrics_add_up_the_requests_every_worker_answered(served_api: ServedApi) -> None:
    sent = 40
    for _ in range(sent):
        # A new connection each time: the kernel hands them to whichever worker accepts first.
        assert httpx.get(f"{served_api.base_url}/healthz").status_code == 200
    text = httpx.get(f"{served_api.ops_url}/metrics").text  # the supervisor adds them up
    counted = re.search(
        r'^chatstate_api_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
        text, re.M)
    assert counted is not None, "no /healthz request counted"
    assert float(counted.group(1)) == sent


def test_a_token_from_one_worker_is_accepted_by_every_worker(served_api: ServedApi) -> None:
    auth = served_api.auth()
    for _ in range(10):
        r = httpx.post(f"{served_api.base_url}/v1/chat-state/persist", headers=auth, json={})
        assert r.status_code == 422  # past authentication: the empty body is what is refused


def _workers(supervisor_pid: int) -> list[psutil.Process]:
    """The API's worker processes (multiprocessing also starts a resource tracker)."""
    return [p for p in psutil.Process(supervisor_pid).children()
            if "spawn_main" in " ".join(p.cmdline())]


def _wait_gone(procs: list[psutil.Process], within_s: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(procs, timeout=within_s)
    return alive


def test_kept_alive_connections_are_dealt_to_the_workers_in_turn(
    env: StackSlice, tmp_path: Path
) -> None:
    opened = 30  # hashed by the kernel (SO_REUSEPORT) they split 15/15 one time in seven
    with api_process(env, tmp_path / "api.log") as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        workers = _workers(proc.pid)
        clients = [httpx.Client(base_url=base) for _ in range(opened)]
        try:
            for client in clients:  # one kept-alive connection each
                assert client.get("/healthz").status_code == 200
            deadline = time.monotonic() + 5
            while True:  # the readiness probes' closed connections may take a moment to go
                held = sorted(
                    sum(1 for c in w.net_connections(kind="tcp")
                        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)
                    for w in workers)
                if sum(held) == opened or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert held == [opened // 2, opened // 2]
        finally:
            for client in clients:
                client.close()


def test_a_worker_that_dies_stops_the_api_with_a_failure_status(
    env: StackSlice, tmp_path: Path
) -> None:
    with api_process(env, tmp_path / "api.log") as (proc, _):
        workers = _workers(proc.pid)
        assert len(workers) == 2
        workers[0].send_signal(signal.SIGKILL)
        assert proc.wait(20) == 1  # the service manager sees a failure and restarts the API
        assert _wait_gone(workers, 5) == [], "a worker outlived the API"


def test_workers_stop_when_their_supervisor_is_killed(env: StackSlice, tmp_path: Path) -> None:
    with api_process(env, tmp_path / "api.log") as (proc, base):
        workers = _workers(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        assert _wait_gone(workers, 10) == [], "workers kept the port after the supervisor died"
        started = time.monotonic()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/healthz", timeout=2)
        assert time.monotonic() - started < 5


def test_workers_still_starting_stop_when_their_supervisor_is_killed(
    env: StackSlice, tmp_path: Path
) -> None:
    # Killed while its workers are still importing: they are re-parented before they could
    # note who their supervisor was, and must still notice it is gone.
    with api_process(env, tmp_path / "api.log", wait_ready=False) as (proc, _):
        deadline = time.monotonic() + 20
        while len(workers := _workers(proc.pid)) < 2:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        assert _wait_gone(workers, 20) == [], "a worker outlived its killed supervisor"
