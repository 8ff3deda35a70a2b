"""``chatstate api``: serve the HTTP API; ``chatstate api openapi``: print its OpenAPI document."""

from __future__ import annotations

import json
import os
import sys

import typer

from processor.cli._common import friendly_errors, load_settings

app = typer.Typer(
    help="The HTTP API (sessions, resumption context, data-action snapshots).",
    invoke_without_command=True,
)


@app.callback()
@friendly_errors
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Listen address (default: CHATSTATE_API_HOST)."),
    port: int | None = typer.Option(None, help="Listen port (default: CHATSTATE_API_PORT)."),
    workers: int | None = typer.Option(
        None, min=1, help="Processes (default: CHATSTATE_API_WORKERS)."),
    ops_port: int | None = typer.Option(
        None, min=0, max=65535,
        help="Port of /metrics, /docs, /openapi.json (default: CHATSTATE_API_OPS_PORT; 0: off)."),
) -> None:
    """Serve the API with uvicorn (no sub-command), until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from processor.api.app import signing_keys
    from processor.api.clients import parse_clients
    from processor.api.serve import serve as serve_api
    from processor.servers import from_settings

    settings = load_settings()
    # Refuse a missing signing key or a bad client list here, in one line, before any worker
    # process starts (each would refuse the same way, less readably).
    signing_keys(settings)
    parse_clients(settings.oauth_clients)
    ep = from_settings(settings)  # never the dev stack's: see processor/servers.py
    # Each worker process builds its own app from the environment: resolve the servers once,
    # here, so every worker talks to the same ones.
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = ep.kafka_bootstrap
    os.environ["DATABASE_URL"] = ep.database_url
    ops = settings.api_ops_port if ops_port is None else ops_port
    status = serve_api(host or settings.api_host, port or settings.api_port,
                       workers or settings.api_workers,
                       ops=(settings.api_ops_host, ops) if ops else None)
    if status:
        raise typer.Exit(status)


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (`chatstate api openapi > docs/openapi.json`)."""
    from processor.api.app import openapi_document

    sys.stdout.write(json.dumps(openapi_document(load_settings()), indent=2, sort_keys=True) + "\n")
