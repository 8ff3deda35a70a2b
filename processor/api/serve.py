"""Serving the API on several processes, each with a listening socket of its own.

uvicorn's ``--workers`` shares one listening socket between its processes, and whichever is
awake accepts the next connection. Clients that keep connections open (the web back end's pool,
a data action's HTTP client, a load generator) then pile onto one process: 50 connections split
2/48 and 39/11 in runs here, and the busy process alone set the latency while the other idled.
Each process here binds its own socket with ``SO_REUSEPORT`` instead, and the kernel spreads new
connections across them evenly.

The supervisor does not restart a worker that dies: it stops the others and exits non-zero, so
the service manager restarts the whole API rather than leaving it serving at half capacity
behind a green ``/healthz``.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from types import FrameType

from processor.errors import ConfigError
from processor.logs import get_logger

__all__ = ["serve"]

log = get_logger("chatstate.api")

_APP = "processor.api.app:served_app"
_STOP_GRACE_S = 15.0


def _listen(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _follow_the_supervisor(supervisor: int) -> None:
    """A worker's signals come from the supervisor alone, and it stops when the supervisor is
    gone: out of the terminal's process group (one Ctrl-C is one graceful SIGTERM, not a second
    signal that makes uvicorn skip the lifespan shutdown), and watching its parent's pid (a
    SIGKILLed supervisor must not leave workers holding the port).

    The supervisor's pid comes from the supervisor itself: a worker still importing when the
    supervisor was killed has already been re-parented, and ``getppid()`` read here would name
    its new parent and never change."""
    os.setpgrp()

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _run_one(host: str, port: int, supervisor: int | None) -> None:
    """One API process: uvicorn on uvloop + httptools (the hot path is the event loop and HTTP
    parsing: /healthz went from 1,858 to 3,515 req/s on one process). uvicorn's own access log
    is off: ours has route templates, metrics and no query strings. X-Forwarded-For is not read:
    nothing uses the client's address (it is personal data; the access log leaves it out)."""
    import uvicorn

    if supervisor is not None:
        _follow_the_supervisor(supervisor)

    config = uvicorn.Config(_APP, factory=True, loop="uvloop", http="httptools",
                            access_log=False, log_config=None, server_header=False,
                            proxy_headers=False)
    sock = _listen(host, port, reuse_port=supervisor is not None)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int) -> int:
    """Serve until SIGINT/SIGTERM; the exit status is 0 after a requested stop."""
    try:  # fail here, in one clear line, if the address is taken or not ours to use
        _listen(host, port, reuse_port=workers > 1).close()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if workers == 1:
        _run_one(host, port, supervisor=None)
        return 0
    metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics adds up every worker's numbers from files here; a fresh, empty one per start.
        metrics_dir = tempfile.mkdtemp(prefix="chatstate-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_run_one, args=(host, port, os.getpid()),
                           name=f"chatstate-api-{i}") for i in range(workers)]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in procs:
            p.start()
        log.info("api_started", workers=workers, host=host, port=port,
                 pids=[p.pid for p in procs])
        while not stopping and all(p.is_alive() for p in procs):
            time.sleep(0.2)
        dead = [p for p in procs if not p.is_alive()]
        if not stopping:
            log.error("api_worker_died", pids=[p.pid for p in dead],
                      exit_codes=[p.exitcode for p in dead])
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)  # uvicorn's graceful shutdown
        deadline = time.monotonic() + _STOP_GRACE_S
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
        return 0 if stopping else 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
