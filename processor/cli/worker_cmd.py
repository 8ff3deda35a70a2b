"""``chatstate worker``, ``chatstate session show | list``, ``chatstate alerts tail``."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

import typer

from processor.cli._common import echo_json, friendly_errors, load_settings
from processor.devstack.resolve import endpoints
from processor.errors import ConfigError
from processor.servers import Endpoints, from_settings

worker_app = typer.Typer(help="Run the stream worker.")
session_app = typer.Typer(help="Look at sessions.")
alerts_app = typer.Typer(help="Follow the alerts topic.")


@worker_app.callback(invoke_without_command=True)
@friendly_errors
def worker(
    app_id: str = typer.Option(None, help="Consumer group (default CHATSTATE_APP_ID)."),
) -> None:
    """Run stage 1, stage 2 and the leader's timers; several workers may share a group."""
    import faust

    from processor.topics import Catalog
    from processor.worker.app import create_app, use_uvloop
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

    Worker(
        app, loglevel=settings.log_level.lower(), override_logging=False, console_port=0
    ).execute_from_commandline()


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


@session_app.command("show")
@friendly_errors
def show(persistent_session_id: str) -> None:
    """The session, its conversations and its latest snapshot, as JSON (exit 1 if unknown)."""
    from processor.db import create_pool
    from processor.worker.sink import load_sessions

    try:
        psid = uuid.UUID(persistent_session_id)
    except ValueError:
        raise typer.BadParameter("not a UUID") from None
    settings = load_settings()

    async def fetch() -> dict[str, object] | None:
        pool = await create_pool(endpoints(settings).database_url, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                found = await load_sessions(conn, [psid])
                history = await conn.fetchval(
                    "SELECT count(*) FROM snapshots WHERE persistent_session_id = $1", psid
                )
        finally:
            await pool.close()
        if psid not in found:
            return None
        data = found[psid].model_dump(mode="json", by_alias=True, exclude={"id", "schema_version"})
        data["snapshotHistoryCount"] = history
        return data

    data = asyncio.run(fetch())
    if data is None:
        typer.secho(f"no session {psid}", err=True, fg="red")
        raise typer.Exit(1)
    echo_json(data)


@session_app.command("list")
@friendly_errors
def list_sessions(
    status: str = typer.Option(None, help="Only this status (active, idle, expired, ...)."),
    customer: str = typer.Option(None, help="Only this customerIdHashed."),
    limit: int = typer.Option(20, min=1, max=10_000, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Recent sessions, most recently changed first: an id to `session show`."""
    from processor.cli._sessions_io import SessionLine, format_line, recent_sessions
    from processor.db import create_pool
    from schemas.session import SessionStatus

    if status is not None and status not in {s.value for s in SessionStatus}:
        raise typer.BadParameter(f"one of {', '.join(s.value for s in SessionStatus)}")
    settings = load_settings()

    async def fetch() -> list[SessionLine]:
        pool = await create_pool(endpoints(settings).database_url, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await recent_sessions(conn, status, customer, limit)
        finally:
            await pool.close()

    for s in asyncio.run(fetch()):
        sys.stdout.write((json.dumps(s.to_json()) if as_json else format_line(s)) + "\n")


@alerts_app.command("tail")
@friendly_errors
def tail(
    as_json: bool = typer.Option(False, "--json", help="One JSON alert per line."),
    from_beginning: bool = typer.Option(False, help="Start at the oldest retained alert."),
    limit: int = typer.Option(0, help="Stop after this many alerts (0: follow forever)."),
    idle_timeout: float = typer.Option(0.0, help="Stop after this many seconds without one."),
) -> None:
    """Follow chat.alerts: readable for a human, or JSON with --json."""
    from aiokafka import AIOKafkaConsumer

    from processor.topics import Catalog
    from schemas.alerts import Alert

    settings = load_settings()
    topic = Catalog.load(settings.topics_file, settings.topic_prefix).name("chat.alerts")

    async def follow() -> None:
        ep = endpoints(settings)
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=ep.kafka_bootstrap,
            **ep.kafka_security.client_options(),
            group_id=None,
            auto_offset_reset="earliest" if from_beginning else "latest",
        )
        await consumer.start()
        seen = 0
        try:
            while limit == 0 or seen < limit:
                batch = await consumer.getmany(timeout_ms=int(idle_timeout * 1000) or 1000)
                if not batch and idle_timeout:
                    return
                for records in batch.values():
                    for r in records:
                        a = Alert.model_validate_json(r.value or b"{}")
                        seen += 1
                        if as_json:
                            sys.stdout.write(a.model_dump_json(by_alias=True) + "\n")
                        else:
                            ids = " ".join(
                                f"{k}={v}"
                                for k, v in (
                                    ("session", a.persistent_session_id),
                                    ("conversation", a.conversation_id),
                                )
                                if v
                            )
                            sys.stdout.write(
                                f"{a.detected_at:%Y-%m-%d %H:%M:%S} "
                                f"{a.severity.upper():8} {a.type.value:22} "
                                f"{a.summary} {ids} [{a.runbook}]\n"
                            )
                        sys.stdout.flush()
                        if limit and seen >= limit:
                            return
        finally:
            await consumer.stop()

    asyncio.run(follow())
