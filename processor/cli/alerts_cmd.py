"""``chatstate alerts tail``: follow ``chat.alerts``, readable for a human or as JSON lines.

Tooling, so the servers come from :func:`processor.devstack.resolve.endpoints` (settings first,
the local stack as the fallback).
"""

from __future__ import annotations

import asyncio
import sys

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.devstack.resolve import endpoints

app = typer.Typer(help="Follow the alerts topic.")


@app.command("tail")
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
