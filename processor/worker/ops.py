"""The worker's ops endpoints: what "ready" means for a worker, and when the server runs.

Ready = the worker received its partition assignment (it is a member of the group and its
agents are subscribed), Kafka and PostgreSQL answer, and it is not shutting down. The
assignment is not withdrawn during a later rebalance: every worker of the group rebalances at
once, and a group that all turned unready together would stall a rolling update for nothing.
A worker assigned no partitions (more workers than partitions) is ready: it is a standby.

``chatstate worker`` builds one ``WorkerOps`` before the Faust worker starts (so the signal
receivers and the sensor are in place in time) and starts/stops the server from the worker's own
hooks; the app and the runtime are not touched beyond reading ``app.runtime``. The same loop
refreshes the consumer lag and outbox backlog gauges (``processor.worker.telemetry``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from processor.core.route import COMMANDS, CONVERSATIONS, SNAPSHOTS
from processor.ops_probes import kafka_reachable, postgres_reachable
from processor.ops_server import OpsServer, ReadyReport, serve_ops
from processor.settings import Settings
from processor.worker.sibling_metrics import MergedRegistry
from processor.worker.stage1_process import Stage1Process
from processor.worker.telemetry import RecordsSensor, refresh_forever

UPDATES = "chatstate.session-updates"

__all__ = ["WorkerOps"]


class WorkerOps:
    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app = app
        self.runtime: Any = app.runtime  # type: ignore[attr-defined]
        self.settings = settings
        self.assigned: int | None = None  # partitions in the latest assignment; None: none yet
        self.server: OpsServer | None = None
        self._refresh: asyncio.Task[None] | None = None
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        rt, metrics = self.runtime, self.runtime.metrics
        # The sensor sees stage 2 only (stage 1 counts its reads in Runtime.stage1).
        self.sensor = RecordsSensor(metrics, {rt.catalog.name(UPDATES): ("apply", UPDATES)})
        app.sensors.add(self.sensor)
        metrics.known_topics(
            [("normalise", t) for t in (CONVERSATIONS, SNAPSHOTS, COMMANDS)] + [("apply", UPDATES)],
            [("normalise", UPDATES), ("normalise", "chat.dlq"), ("apply", "chat.sessions"),
             ("apply", "chat.alerts"), ("apply", "chat.dlq")],
        )
        metrics.stalled.labels("database").set_function(
            lambda: 0.0 if rt.degraded_since is None else 1.0
        )

    async def _on_assigned(self, _app: Any, assigned: set[Any], **_: Any) -> None:
        self.assigned = len(assigned)

    async def ready(self) -> ReadyReport:
        rt = self.runtime
        kafka, postgres = await asyncio.gather(
            kafka_reachable(rt.kafka_bootstrap, rt.kafka_security),
            postgres_reachable(rt.database_url),
        )
        check = ReadyReport.check
        sibling = getattr(self.app, "stage1", None)
        return ReadyReport({
            "partitions": check(self.assigned is not None, "not assigned yet"),
            **({"stage1": check(sibling.running, "stage 1 process not running")}
               if isinstance(sibling, Stage1Process) else {}),
            "kafka": check(kafka, "unreachable"),
            "postgres": check(postgres, "unreachable"),
            "shutdown": check(not rt.stopping, "stopping"),
        })

    def registry(self) -> CollectorRegistry:
        """What ``/metrics`` serves: this process's registry, plus the stage-1 process's
        latest snapshot when stage 1 runs in one (``processor/worker/sibling_metrics.py``)."""
        own = self.runtime.metrics.registry
        sibling = getattr(self.app, "stage1", None)
        if isinstance(sibling, Stage1Process):
            return MergedRegistry(own, lambda: sibling.families)
        return own  # type: ignore[no-any-return]

    async def start(self) -> None:
        s = self.settings
        self.server = await serve_ops(
            s.worker_http_host, s.worker_http_port, ready=self.ready,
            registry=self.registry(), setting="CHATSTATE_WORKER_HTTP_PORT",
        )
        if self.server is not None:
            self._refresh = asyncio.create_task(refresh_forever(
                self.app, self.runtime.metrics, self.sensor, self.runtime.database_url
            ))

    async def stop(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            await asyncio.gather(self._refresh, return_exceptions=True)
            self._refresh = None
        if self.server is not None:
            server, self.server = self.server, None
            await server.close()
