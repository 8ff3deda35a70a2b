"""``chatstate worker`` as a subprocess the benchmark and the fault suite own (the worker itself
is ``processor/worker/``): started with env only (as an operator would), killed with SIGKILL
for fault drills, paused while a backlog is produced, and measured (CPU seconds, peak RSS) with
psutil."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from processor.bench.space import RunSpace

__all__ = ["ResourceSampler", "WorkerProcess", "chatstate_bin", "worker_available"]


def chatstate_bin() -> Path:
    return Path(sys.executable).parent / "chatstate"


def worker_available() -> bool:
    """True once ``chatstate worker`` is a command of this build."""
    try:
        done = subprocess.run([str(chatstate_bin()), "worker", "--help"], capture_output=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WorkerProcess:
    space: RunSpace
    app_id: str
    log_dir: Path
    ttl: str = "P3D"
    scan_interval_s: float = 3600.0
    name: str = "worker"
    stage1_process: bool = True  # CHATSTATE_STAGE1_PROCESS
    session_timeout_s: float | None = None  # CHATSTATE_GROUP_SESSION_TIMEOUT_S; None: its default
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _state_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cs-worker-")))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATSTATE_")}
        env.update({
            "KAFKA_BOOTSTRAP_SERVERS": self.space.kafka_bootstrap,
            "DATABASE_URL": self.space.database_url,
            "CHATSTATE_TOPIC_PREFIX": self.space.prefix,
            "CHATSTATE_APP_ID": self.app_id,
            "CHATSTATE_WORKER_HTTP_PORT": str(_free_port()),
            "CHATSTATE_SESSION_TTL": self.ttl,
            "CHATSTATE_SCAN_INTERVAL_S": str(self.scan_interval_s),
            # Faust keeps a data directory; one per worker so two never share it.
            "CHATSTATE_STATE_DIR": str(self._state_dir),
            **self.space.security.environment(),
            "CHATSTATE_LOG_FORMAT": "json",
            "CHATSTATE_STAGE1_PROCESS": "true" if self.stage1_process else "false",
        })
        if self.session_timeout_s is not None:
            env["CHATSTATE_GROUP_SESSION_TIMEOUT_S"] = str(self.session_timeout_s)
        return env

    def start(self) -> None:
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(chatstate_bin()), "worker"], env=self.env(), cwd=self._state_dir,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def children(self) -> list[int]:
        """Pids of the worker's child processes (its stage-1 process, by default)."""
        try:
            return [c.pid for c in psutil.Process(self.proc.pid).children()] if self.proc else []
        except psutil.Error:
            return []

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, exactly like an OOM kill or a lost node."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    async def stop(self, grace_s: float = 30.0) -> None:
        """SIGTERM and wait (Faust leaves the group cleanly); SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        self.kill()

    def pause(self) -> None:
        """SIGSTOP the worker's process group: the worker and its stage-1 process."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGCONT)

    def cleanup(self) -> None:
        shutil.rmtree(self._state_dir, ignore_errors=True)


@dataclass
class ResourceSampler:
    """CPU seconds and peak RSS of one process (and its children), sampled in the background."""

    pid: int
    interval: float = 0.25
    peak_rss: int = 0
    rss: list[tuple[float, int]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _cpu0: float = 0.0
    _last_cpu: float = 0.0

    def _procs(self) -> list[psutil.Process]:
        p = psutil.Process(self.pid)
        return [p, *p.children(recursive=True)]

    def cpu_seconds(self) -> float:
        try:
            total = 0.0
            for p in self._procs():
                t = p.cpu_times()
                total += t.user + t.system
            self._last_cpu = total
        except psutil.Error:
            pass
        return self._last_cpu

    def start(self) -> None:
        self._cpu0 = self.cpu_seconds()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                rss = sum(p.memory_info().rss for p in self._procs())
                self.peak_rss = max(self.peak_rss, rss)
                self.rss.append((time.time(), rss))
                self.cpu_seconds()
            except psutil.Error:
                return
            await asyncio.sleep(self.interval)

    async def stop(self) -> float:
        """CPU seconds used since :meth:`start`."""
        used = self.cpu_seconds() - self._cpu0
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return used
