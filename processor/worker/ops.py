"""The worker's ops endpoints: what "ready" means for a worker, and when the server runs.

Ready = the worker received its partition assignment (it is a member of the group and its
agents are subscribed), Kafka and PostgreSQL answer, and it is not shutting down. The
assignment is not withdrawn during a later rebalance: every worker of the group rebalances at
once, and a group that all turned unready together would stall a rolling update for nothing.
A worker assigned no partitions (more workers than partitions) is ready: it is a standby.

``chatstate worker`` builds one ``WorkerOps`` before the Faust worker starts (so the signal
receivers are connected in time) and starts/stops the server from the worker's own hooks; the
app and the runtime are not touched beyond reading ``app.runtime``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from processor.ops_probes import kafka_reachable, postgres_reachable
from processor.ops_server import OpsServer, ReadyReport, serve_ops
from processor.settings import Settings

__all__ = ["WorkerOps"]


class WorkerOps:
    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app = app
        self.runtime: Any = app.runtime  # type: ignore[attr-defined]
        self.settings = settings
        self.assigned: int | None = None  # partitions in the latest assignment; None: none yet
        self.server: OpsServer | None = None
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]

    async def _on_assigned(self, _app: Any, assigned: set[Any], **_: Any) -> None:
        self.assigned = len(assigned)

    async def ready(self) -> ReadyReport:
        rt = self.runtime
        kafka, postgres = await asyncio.gather(
            kafka_reachable(rt.kafka_bootstrap, rt.kafka_security),
            postgres_reachable(rt.database_url),
        )
        check = ReadyReport.check
        return ReadyReport({
            "partitions": check(self.assigned is not None, "not assigned yet"),
            "kafka": check(kafka, "unreachable"),
            "postgres": check(postgres, "unreachable"),
            "shutdown": check(not rt.stopping, "stopping"),
        })

    async def start(self) -> None:
        s = self.settings
        self.server = await serve_ops(
            s.worker_http_host, s.worker_http_port, ready=self.ready,
            registry=self.runtime.metrics.registry, setting="CHATSTATE_WORKER_HTTP_PORT",
        )

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.close()
