"""``chatstate db``: schema migrations."""

from __future__ import annotations

import asyncio

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.devstack.resolve import endpoints
from processor.migrate import migrate as run_migrations

app = typer.Typer(help="The PostgreSQL schema.")


@app.command()
@friendly_errors
def migrate() -> None:
    """Apply pending migrations, each in a transaction. Idempotent."""
    applied = asyncio.run(run_migrations(endpoints(load_settings()).database_url))
    for m in applied:
        typer.echo(f"applied {m.version:04d}_{m.name}")
    if not applied:
        typer.echo("up to date")
