"""``chatstate customer erase HASH``: a customer's erasure from the command line.

The same request as ``POST /v1/erasures`` (``processor.erasure_requests``): an audit row naming
``cli:<user>`` as the requester, the customer hash on the deny list, one ``erase_session`` per
session on its partition, carried out by the worker. ``--wait`` follows it to completion.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from datetime import UTC, datetime

import typer

from processor.cli._common import echo_json, friendly_errors, load_settings
from processor.devstack.resolve import endpoints

app = typer.Typer(help="A customer's data: erase it (the right to erasure).")


@app.command("erase")
@friendly_errors
def erase(
    customer_id_hashed: str = typer.Argument(..., help="SHA-256 hex of the customer id."),
    wait: float = typer.Option(0.0, help="Wait up to this many seconds for the worker."),
) -> None:
    """Erase every session of the customer: rows deleted, tombstones on chat.sessions, the ids
    on the deny list. Prints the erasure's audit row as JSON (exit 1 if --wait ran out)."""
    from processor.api.models import CUSTOMER_HASH_MESSAGE
    from processor.db import create_pool
    from processor.erasure_requests import erase_commands, erasure, start_erasure
    from processor.producer import make_producer
    from processor.topics import Catalog
    from schemas.snapshot import SHA256_HEX

    if not SHA256_HEX.fullmatch(customer_id_hashed):
        raise typer.BadParameter(CUSTOMER_HASH_MESSAGE)  # never echoes the value
    settings = load_settings()
    ep = endpoints(settings)
    topic = Catalog.load(settings.topics_file, settings.topic_prefix).name(
        "chat.session-commands")

    async def run() -> dict[str, object]:
        pool = await create_pool(ep.database_url, min_size=1, max_size=1)
        producer = make_producer(ep.kafka_bootstrap, ep.kafka_security)
        try:
            now = datetime.now(UTC)
            async with pool.acquire() as conn:
                started = await start_erasure(conn, customer_id_hashed,
                                              f"cli:{getpass.getuser()}", now)
            await producer.start()
            for key, value in erase_commands(started, now):
                await producer.send_and_wait(topic, value, key=key)
            deadline = time.monotonic() + wait
            while True:
                found = await erasure(pool, started.erasure_id)
                assert found is not None
                if found.status == "completed" or time.monotonic() >= deadline:
                    return {"erasureId": str(found.erasure_id), "status": found.status,
                            "requestedBy": found.requested_by, "sessions": found.sessions,
                            "sessionsErased": found.sessions_erased,
                            "rowsDeleted": found.rows_deleted}
                await asyncio.sleep(0.5)
        finally:
            await producer.stop()
            await pool.close()

    result = asyncio.run(run())
    echo_json(result)
    if result["status"] != "completed" and wait:
        raise typer.Exit(1)
