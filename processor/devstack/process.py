"""Processes the stack started: start detached, record the PID, stop exactly that PID.

A PID alone can be reused by the OS after a crash; a process only counts as ours when its
command line still contains the marker we started it with (its data directory).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["free_port", "is_ours", "port_open", "spawn", "stop", "tail"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def is_ours(pid: int | None, marker: str) -> bool:
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    return marker in cmdline and not zombie


def spawn(
    argv: Sequence[str],
    log: Path,
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session (so Ctrl-C in a terminal does not reach it twice).

    Callers watch start-up through the returned ``Popen`` (``poll()``): right after exec the
    kernel can still show an empty command line, so ``is_ours`` is for later invocations."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=user,
            env=env,
            cwd=cwd,
        )
    return proc


def stop(pid: int, marker: str, sig: int = signal.SIGTERM, timeout: float = 45.0) -> bool:
    """Signal ``pid`` if it is still ours and wait for it; SIGKILL after ``timeout``."""
    if not is_ours(pid, marker):
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_ours(pid, marker):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    while is_ours(pid, marker):
        _reap(pid)
        time.sleep(0.05)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
