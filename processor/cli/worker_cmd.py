"""``chatstate worker``: the stream worker, on the servers settings name (never the dev stack's)."""

from __future__ import annotations

import asyncio

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.errors import ConfigError
from processor.servers import Endpoints, from_settings

worker_app = typer.Typer(help="Run the stream worker.")


@worker_app.callback(invoke_without_command=True)
@friendly_errors
def worker(
    app_id: str = typer.Option(None, help="Consumer group (default CHATSTATE_APP_ID)."),
) -> None:
    """Run stage 1, stage 2 and the leader's timers; several workers may share a group."""
    import faust

    from processor.topics import Catalog
    from processor.worker.app import create_app, use_uvloop
    from processor.worker.gc_settings import tune_gc
    from processor.worker.ops import WorkerOps

    use_uvloop()
    settings = load_settings()
    if app_id:
        settings = settings.model_copy(update={"app_id": app_id})
    ep = from_settings(settings)  # never the dev stack's: see processor/servers.py
    _check_topics(Catalog.load(settings.topics_file, settings.topic_prefix), ep)
    app = create_app(settings, ep.kafka_bootstrap, ep.database_url)
    runtime = app.runtime  # type: ignore[attr-defined]
    ops = WorkerOps(app, settings)  # /healthz, /readyz, /metrics (CHATSTATE_WORKER_HTTP_PORT)

    class Worker(faust.Worker):
        """Faust's worker, telling the runtime first: a batch waiting on a retry gives up at
        once (unacked, so it is read again) instead of holding shutdown for its backoff.
        The ops server starts before Faust connects (liveness answers during a slow start)
        and stops last."""

        async def on_first_start(self) -> None:
            await super().on_first_start()
            await ops.start()

        async def on_shutdown(self) -> None:
            await super().on_shutdown()
            await ops.stop()

        def _on_sigterm(self) -> None:
            runtime.request_stop()
            super()._on_sigterm()

        def _on_sigint(self) -> None:
            runtime.request_stop()
            super()._on_sigint()

    worker = Worker(
        app, loglevel=settings.log_level.lower(), override_logging=False, console_port=0
    )
    tune_gc()  # after the imports and the app are built: see processor/worker/gc_settings.py
    worker.execute_from_commandline()


def _check_topics(catalog: object, ep: Endpoints) -> None:
    from processor.topics import Catalog, apply

    assert isinstance(catalog, Catalog)
    plan = asyncio.run(apply(catalog, ep.kafka_bootstrap, ep.kafka_security, dry_run=True))
    if plan.create:
        raise ConfigError(
            "missing topics: "
            + ", ".join(s.name for s in plan.create)
            + " (run `chatstate topics apply`)"
        )
