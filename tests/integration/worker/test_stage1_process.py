"""Stage 1 runs in a sibling process of ``chatstate worker`` (CHATSTATE_STAGE1_PROCESS, on by
default): the two live and die together, a sibling that dies is started again, and the worker's
one /metrics serves the sibling's series."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.conftest import StackSlice
from tests.integration.worker.harness import (
    T0,
    Feeder,
    Worker,
    conversation_event,
    db_sessions,
    eventually,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _sibling(worker: Worker) -> psutil.Process | None:
    assert worker.proc is not None
    try:
        kids = psutil.Process(worker.proc.pid).children()
    except psutil.NoSuchProcess:
        return None
    return next((p for p in kids if "processor.worker.stage1_process" in " ".join(p.cmdline())),
                None)


async def _one_session_applied(env: StackSlice, feed: Feeder, worker: Worker, what: str) -> None:
    """Feed a conversation of a new session and wait until the worker has applied it."""
    psid = uuid.uuid4()
    await feed.event(conversation_event(uuid.uuid4(), psid, "connected", T0))

    async def applied() -> bool:
        return psid in await db_sessions(env)

    await eventually(applied, timeout=90, what=what, worker=worker)


async def test_the_stage1_process_ends_when_the_worker_is_killed(
    env: StackSlice, tmp_path: Path
) -> None:
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}").start()
    try:
        async def started() -> psutil.Process | None:
            return _sibling(worker)

        sibling = await eventually(started, timeout=60, what="stage 1 process", worker=worker)
        worker.kill()  # SIGKILL: no shutdown hook of the worker runs
        t0 = time.monotonic()
        gone, _ = await asyncio.to_thread(psutil.wait_procs, [sibling], 20)
        assert gone, "the stage 1 process outlived its worker by 20 s"
        assert time.monotonic() - t0 < 20
    finally:
        worker.stop()


async def test_a_stage1_process_that_dies_is_started_again_and_records_still_flow(
    env: StackSlice, tmp_path: Path
) -> None:
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}").start()
    try:
        async with Feeder(env) as feed:
            await _one_session_applied(env, feed, worker, "first applied")
            old = _sibling(worker)
            assert old is not None
            old.kill()

            async def replaced() -> psutil.Process | None:
                new = _sibling(worker)
                return new if new is not None and new.pid != old.pid else None

            await eventually(replaced, timeout=30, what="a new stage 1 process", worker=worker)
            await _one_session_applied(env, feed, worker, "applied after the restart")
        assert "stage 1 process ended; starting it again" in worker.log_path.read_text()
    finally:
        worker.stop()


async def test_sigterm_stops_the_worker_and_its_stage1_process_within_10_s(
    env: StackSlice, tmp_path: Path
) -> None:
    worker = Worker(env, tmp_path / "worker.log", f"w-{uuid.uuid4().hex[:6]}").start()
    try:
        async with Feeder(env) as feed:
            await _one_session_applied(env, feed, worker, "applied")
        sibling = _sibling(worker)
        assert sibling is not None
        assert worker.proc is not None
        t0 = time.monotonic()
        worker.proc.terminate()
        await asyncio.to_thread(worker.proc.wait, 15)
        gone, _ = await asyncio.to_thread(psutil.wait_procs, [sibling], 5)
        assert gone
        assert time.monotonic() - t0 < 10
    finally:
        worker.stop()
