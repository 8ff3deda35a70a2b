"""Stage 1 in a sibling process of ``chatstate worker``, so each stage has a CPU core.

Why (issue 14): the worker is one Python thread, and on the 2-core machine it saturated one core
(~0.9 of it while draining a backlog) with the other mostly idle. Stage 1 (read the inputs,
normalise, route, produce) keeps no per-session state and is already a plain aiokafka consumer
group of its own (``processor/worker/stage1.py``), so it moves to a process without Faust; the
agents that own each persistent session stay in the worker process. One command still runs
everything: ``chatstate worker`` starts the sibling, restarts it if it dies, and stops it.
``CHATSTATE_STAGE1_PROCESS=false`` keeps both stages in one process.

The cost: stage 2 can no longer take stage 1's updates from memory (``processor/worker/
handoff.py``) and decodes every internal record.

How the two processes are tied:
- The sibling's stdin is a pipe from the worker. End of file (the worker exited, however it
  died, SIGKILL included) makes the sibling stop gracefully: the batch in flight finishes and
  is committed, then it leaves the group. SIGTERM (the worker's shutdown after its own SIGTERM)
  makes it give the batch up at once (uncommitted, read again), as the in-process stage 1 does.
- The sibling's stdout carries a metrics snapshot per second (``sibling_metrics``); its stderr is
  the worker's, so its logs go where the worker's go.
- The worker is ready (``/readyz``) only while the sibling runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable

from processor.core.route import COMMANDS, CONVERSATIONS, SNAPSHOTS
from processor.logs import get_logger
from processor.settings import Settings
from processor.worker.gc_settings import tune_gc
from processor.worker.runtime import Runtime
from processor.worker.sibling_metrics import Family, decode_snapshot, encode_snapshot
from processor.worker.stage1 import Stage1

__all__ = ["Stage1Process", "main"]

log = get_logger("chatstate.worker")

_SNAPSHOT_EVERY_S = 1.0
_STOP_WITHIN_S = 8.0  # the worker's own shutdown must end within 10 s of SIGTERM


class Stage1Process:
    """The worker's side: start, supervise (restart with backoff) and stop the sibling."""

    def __init__(self, settings: Settings, kafka_bootstrap: str, database_url: str,
                 stopping: Callable[[], bool]) -> None:
        """``stopping``: whether the worker got SIGTERM (``Runtime.stopping``); the sibling is
        then told to give its batch in flight up, as the worker's own retries do."""
        self.settings = settings
        self.stopping = stopping
        self.kafka_bootstrap = kafka_bootstrap
        self.database_url = database_url
        self.families: list[Family] = []  # the sibling's latest metrics snapshot
        self.restarts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def env(self) -> dict[str, str]:
        """The worker's environment, with what the worker resolved made explicit (its app id
        may come from ``--app-id``; its servers from the same settings)."""
        return {
            **os.environ,
            "CHATSTATE_APP_ID": self.settings.app_id,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "DATABASE_URL": self.database_url,
        }

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="chatstate-stage1-process")

    async def _supervise(self) -> None:
        delay = 1.0
        while not self._closing:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "processor.worker.stage1_process",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=self.env(),
            )
            self._proc = proc
            log.info("stage 1 process started", pid=proc.pid)
            assert proc.stdout is not None
            while line := await proc.stdout.readline():
                families = decode_snapshot(line)
                if families is not None:
                    self.families = families
                    delay = 1.0  # it ran long enough to report: a later death starts over
            code = await proc.wait()
            if self._closing:
                return
            self.restarts += 1
            log.error("stage 1 process ended; starting it again", returncode=code,
                      restart_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        self._closing = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            if self.stopping():  # SIGTERM: the batch in flight is given up (read again)
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
            if proc.stdin is not None:
                proc.stdin.close()  # end of file: stop after the batch in flight
            try:
                await asyncio.wait_for(proc.wait(), _STOP_WITHIN_S)
            except TimeoutError:
                log.warning("stage 1 process did not stop in time; killed", pid=proc.pid)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 2)


# -- the sibling's side ----------------------------------------------------------------------


async def _serve(settings: Settings, kafka_bootstrap: str, database_url: str) -> None:
    rt = Runtime(settings, kafka_bootstrap, database_url)
    rt.metrics.stalled.labels("database").set_function(
        lambda: 0.0 if rt.degraded_since is None else 1.0
    )
    by_name = {rt.catalog.name(name): name for name in (CONVERSATIONS, SNAPSHOTS, COMMANDS)}
    stage1 = Stage1(rt, by_name)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def give_up() -> None:
        rt.request_stop()
        done.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, give_up)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    parent_gone = asyncio.create_task(reader.read())
    parent_gone.add_done_callback(lambda _: done.set())
    out = sys.stdout.buffer

    def report() -> None:
        out.write(encode_snapshot(rt.metrics.registry))
        out.flush()

    try:
        await stage1.start()
        while not done.is_set():
            lag = {}
            for source in rt.metrics.lag_sources:
                with contextlib.suppress(Exception):  # mid-rebalance: next time
                    lag.update(await source())
            rt.metrics.set_lag(lag)
            report()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), _SNAPSHOT_EVERY_S)
    finally:
        await stage1.stop()
        await rt.stop()
        with contextlib.suppress(Exception):
            report()


def main() -> None:
    """``python -m processor.worker.stage1_process``, started by ``chatstate worker`` only."""
    import uvloop  # as the worker (processor.worker.app.use_uvloop), without importing Faust

    from processor.cli._common import load_settings
    from processor.servers import from_settings

    settings = load_settings()
    ep = from_settings(settings)
    tune_gc()
    uvloop.run(_serve(settings, ep.kafka_bootstrap, ep.database_url))


if __name__ == "__main__":
    main()
