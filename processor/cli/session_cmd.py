"""``chatstate session show | list``: an operator's look at sessions in PostgreSQL.

Tooling, so the servers come from :func:`processor.devstack.resolve.endpoints` (settings first,
the local stack as the fallback).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

import typer

from processor.cli._common import echo_json, friendly_errors, load_settings
from processor.devstack.resolve import endpoints

app = typer.Typer(help="Look at sessions.")


@app.command("show")
@friendly_errors
def show(persistent_session_id: str) -> None:
    """The session, its conversations and its latest snapshot, as JSON (exit 1 if unknown)."""
    from processor.db import create_pool
    from processor.worker.session_tables import load_sessions

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


@app.command("list")
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
