"""Serving the API on several processes, with connections dealt to them in turn.

Clients keep connections open (the web back end's pool, a data action's HTTP client, a load
generator), so how connections are spread is how work is spread, and the process holding more
of them sets the latency. uvicorn's ``--workers`` shares one listening socket and whichever
process is awake accepts: 50 connections split 2/48 and 39/11 in runs here. One ``SO_REUSEPORT``
socket per process lets the kernel hash them instead: 33/17 and 28/22. So the supervisor
accepts, and hands each connection to the next process in turn over a Unix socket
(``SCM_RIGHTS``), as Node.js's cluster module does by default: 25/25. The cost is one hand-over
per *connection*, not per request.

The supervisor also serves the ops port (``/metrics``, ``/docs``, ``/openapi.json``) from a
thread of its own: metrics add up every process's files in ``PROMETHEUS_MULTIPROC_DIR``, and the
document needs no I/O, so the API processes serve only callers.

The supervisor does not restart a worker that dies: it stops the others and exits non-zero, so
the service manager restarts the whole API rather than leaving it serving at half capacity
behind a green ``/healthz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from types import FrameType
from typing import Any

from processor.errors import ConfigError
from processor.logs import get_logger

__all__ = ["serve"]

log = get_logger("chatstate.api")

_APP = "processor.api.app:served_app"
_STOP_GRACE_S = 15.0


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
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


def _serve_handed(config: Any, channel: socket.socket) -> None:
    """uvicorn serving the connections the supervisor hands over, instead of a listener.

    Built on ``uvicorn.Server``: its lifespan, graceful shutdown and connection bookkeeping stay
    uvicorn's; only where connections come from changes (``startup`` listens on nothing, and a
    reader on the channel adopts each received socket with uvicorn's own protocol)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=[])
            if not self.started:
                return
            loop = asyncio.get_running_loop()

            def protocol() -> asyncio.Protocol:
                return self.config.http_protocol_class(  # type: ignore[call-arg]
                    config=self.config, server_state=self.server_state,
                    app_state=self.lifespan.state)

            adopting: set[asyncio.Task[Any]] = set()

            def adopt() -> None:
                try:
                    msg, fds, _, _ = socket.recv_fds(channel, 1, 8)
                except BlockingIOError:
                    return
                except OSError:
                    msg, fds = b"", []
                if not msg and not fds:  # the supervisor is gone: nothing more will come
                    loop.remove_reader(channel.fileno())
                    return
                for fd in fds:
                    conn = socket.socket(fileno=fd)
                    conn.setblocking(False)
                    task = loop.create_task(loop.connect_accepted_socket(protocol, conn))
                    adopting.add(task)
                    task.add_done_callback(adopting.discard)

            channel.setblocking(False)
            loop.add_reader(channel.fileno(), adopt)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(channel.fileno())
            await super().shutdown(sockets)

    Server(config).run()


def _config() -> Any:
    """uvicorn on uvloop + httptools (the hot path is the event loop and HTTP parsing: /healthz
    went from 1,858 to 3,515 req/s on one process). uvicorn's own access log is off: ours has
    route templates, metrics and no query strings. X-Forwarded-For is not read: nothing uses the
    client's address (it is personal data; the access log leaves it out)."""
    import uvicorn

    return uvicorn.Config(_APP, factory=True, loop="uvloop", http="httptools",
                          access_log=False, log_config=None, server_header=False,
                          proxy_headers=False)


def _run_one(listener: socket.socket) -> None:
    import uvicorn
    from prometheus_client import values

    # This process counts too: record into PROMETHEUS_MULTIPROC_DIR (set by ``serve`` after
    # prometheus_client was imported, which chose its in-memory values then), so the ops port
    # can add it up like the multi-process case.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    uvicorn.Server(_config()).run(sockets=[listener])


class _OpsServer:
    """The ops port: uvicorn on a thread of the supervisor, serving ``ops.create_ops_app``."""

    def __init__(self, listener: socket.socket) -> None:
        import uvicorn

        from processor.api.api_metrics import render_every_process
        from processor.api.app import openapi_document
        from processor.api.ops import create_ops_app

        document: dict[str, Any] = {}

        def the_document() -> dict[str, Any]:
            if not document:
                document.update(openapi_document())
            return document

        app = create_ops_app(render_every_process, the_document)
        self._server = uvicorn.Server(uvicorn.Config(
            app, loop="asyncio", lifespan="off", access_log=False, log_config=None,
            server_header=False, proxy_headers=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]},
                                        name="ops-port", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)


def _run_handed(supervisor: int, channel: socket.socket) -> None:
    _follow_the_supervisor(supervisor)
    _serve_handed(_config(), channel)


def _deal(listener: socket.socket, channels: list[socket.socket],
          stopping: threading.Event) -> None:
    """The supervisor's accept loop: each new connection to the next process in turn, until
    stopping. A failed accept (out of file descriptors, a client gone before it was accepted)
    is logged and the loop goes on: giving up would leave the API up and deaf. A process that
    is gone fails its hand-over; that connection is closed, and the supervisor is about to stop
    everything anyway."""
    turns = itertools.cycle(channels)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError as exc:
            if stopping.is_set():
                return
            log.warning("api_accept_failed", error=str(exc))
            time.sleep(0.05)
            continue
        with conn, contextlib.suppress(OSError):
            socket.send_fds(next(turns), [b"c"], [conn.fileno()])


def _bind(host: str, port: int) -> socket.socket:
    try:  # fail here, in one clear line, if the address is taken or not ours to use
        return _listen(host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(host: str, port: int, workers: int, ops: tuple[str, int] | None = None) -> int:
    """Serve until SIGINT/SIGTERM, and the ops port on ``ops`` (host, port) unless None; the
    exit status is 0 after a requested stop."""
    listener = _bind(host, port)
    ops_listener = _bind(*ops) if ops else None
    metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics adds up every worker's numbers from files here; a fresh, empty one per start.
        metrics_dir = tempfile.mkdtemp(prefix="chatstate-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    ops_server = _OpsServer(ops_listener) if ops_listener else None
    try:
        if workers == 1:
            _run_one(listener)
            return 0
        return _supervise(listener, workers)
    finally:
        if ops_server is not None:
            ops_server.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _supervise(listener: socket.socket, workers: int) -> int:
    listener.listen(2048)
    host, port = listener.getsockname()[:2]
    spawn = multiprocessing.get_context("spawn")
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(workers)]
    procs = [spawn.Process(target=_run_handed, args=(os.getpid(), theirs),
                           name=f"chatstate-api-{i}") for i, (_, theirs) in enumerate(pairs)]
    stopping = False
    dealing_done = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in procs:
            p.start()
        for _, theirs in pairs:
            theirs.close()  # the worker has its own copy now
        threading.Thread(target=_deal, args=(listener, [ours for ours, _ in pairs], dealing_done),
                         name="connection-dealer", daemon=True).start()
        log.info("api_started", workers=workers, host=host, port=port,
                 pids=[p.pid for p in procs])
        while not stopping and all(p.is_alive() for p in procs):
            time.sleep(0.2)
        dead = [p for p in procs if not p.is_alive()]
        if not stopping:
            log.error("api_worker_died", pids=[p.pid for p in dead],
                      exit_codes=[p.exitcode for p in dead])
        dealing_done.set()
        _close_listener(listener)  # no new connections; the workers finish the open ones
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
        dealing_done.set()
        _close_listener(listener)
        for ours, _ in pairs:
            ours.close()


def _close_listener(listener: socket.socket) -> None:
    # shutdown() first: close() alone does not wake the dealer thread blocked in accept().
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()
