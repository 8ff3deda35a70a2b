"""A process's ops endpoints: ``/healthz``, ``/readyz`` and ``/metrics`` on their own port.

The worker serves them on ``CHATSTATE_WORKER_HTTP_PORT``, the bridge on
``CHATSTATE_BRIDGE_HTTP_PORT`` (the API has its own, in ``processor.api.ops``). Each process
says what "ready" means for it through the ``ready`` callable; this module only serves.

- ``/healthz`` is liveness: answered by a handler on the process's event loop, so a 200 means
  the loop turns (a worker stuck in a blocking call, or a dead loop, does not answer and gets
  restarted). It checks nothing else: a broker outage must not restart every pod.
- ``/readyz`` is readiness: 200 only when every check of the process's ``ReadyReport`` passes,
  otherwise 503 with a JSON body naming the check that failed. A ``ready`` that raises or takes
  longer than ``ready_timeout_s`` is a 503 too (named ``probe``), never a hung probe.
- ``/metrics`` is the Prometheus text of the process's registry.

Why aiohttp: it is already installed (faust-streaming depends on it) and its ``AppRunner`` runs
inside the caller's loop without taking over signal handling, which Faust's worker owns;
uvicorn's ``Server.serve`` installs its own SIGTERM/SIGINT handlers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from processor.errors import ConfigError
from processor.logs import get_logger

__all__ = ["OK", "PATHS", "OpsServer", "ReadyReport", "serve_ops"]

log = get_logger("chatstate.ops")

OK = "ok"
# The paths every ops server answers: the deploy tests check probes against this.
PATHS = ("/healthz", "/readyz", "/metrics")


@dataclass(frozen=True)
class ReadyReport:
    """Named checks, each ``"ok"`` or a short words-only reason it failed (no secrets: the body
    is served to whoever reaches the port). Ready when every check is ``"ok"``."""

    checks: Mapping[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(v == OK for v in self.checks.values())

    @staticmethod
    def check(passed: bool, failure: str) -> str:
        """``"ok"`` if ``passed`` else ``failure``, e.g. ``check(kafka_ok, "unreachable")``."""
        return OK if passed else failure

    def body(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "unavailable", "checks": dict(self.checks)}


@dataclass
class OpsServer:
    """A running ops server on ``host:port``; ``close()`` stops it (in-flight probes end)."""

    host: str
    port: int
    _runner: web.AppRunner

    async def close(self) -> None:
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


async def serve_ops(
    host: str,
    port: int,
    *,
    ready: Callable[[], Awaitable[ReadyReport]],
    registry: CollectorRegistry,
    setting: str = "the ops port",
    ready_timeout_s: float = 8.0,
) -> OpsServer | None:
    """Serve the three endpoints on ``host:port`` in the running loop; ``port`` 0 means off
    (returns None). A port already in use is a ``ConfigError`` naming ``setting`` (the
    environment variable to change), raised before the process does anything else."""
    if port == 0:
        return None

    async def healthz(_: web.Request) -> web.Response:
        return _json({"status": "ok"}, 200)

    async def readyz(_: web.Request) -> web.Response:
        try:
            report = await asyncio.wait_for(ready(), ready_timeout_s)
        except TimeoutError:
            report = ReadyReport({"probe": f"no answer within {ready_timeout_s:g} s"})
        except Exception as exc:  # a probe's bug is a 503 with its class, never a 500 trace
            log.warning("readiness probe failed", error=type(exc).__name__)
            report = ReadyReport({"probe": f"failed ({type(exc).__name__})"})
        return _json(report.body(), 200 if report.ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot listen on {host}:{port} for /healthz, /readyz and /metrics "
            f"({exc.strerror or type(exc).__name__}); set {setting} to a free port, or 0 to "
            "serve none"
        ) from None
    bound = runner.addresses[0][1] if runner.addresses else port
    log.info("ops endpoints listening", host=host, port=bound, paths=list(PATHS))
    return OpsServer(host, int(bound), runner)


def _json(body: Mapping[str, object], status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
