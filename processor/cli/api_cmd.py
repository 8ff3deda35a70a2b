"""``chatstate api``: serve the HTTP API; ``chatstate api openapi``: print its OpenAPI document."""

from __future__ import annotations

import json
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
) -> None:
    """Serve the API with uvicorn (no sub-command), until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from processor.api import create_app
    from processor.devstack.resolve import endpoints

    settings = load_settings()
    ep = endpoints(settings)
    api = create_app(settings, kafka_bootstrap=ep.kafka_bootstrap, database_url=ep.database_url)
    # uvicorn's own access log is off: ours has route templates, metrics and no query strings.
    uvicorn.run(api, host=host or settings.api_host, port=port or settings.api_port,
                access_log=False, log_config=None, server_header=False)


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (`chatstate api openapi > docs/openapi.json`)."""
    from processor.api.app import openapi_document

    sys.stdout.write(json.dumps(openapi_document(load_settings()), indent=2, sort_keys=True) + "\n")
