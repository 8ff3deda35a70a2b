"""``chatstate config show``: the effective settings, secrets masked."""

from __future__ import annotations

import typer

from processor.cli._common import echo_json, load_settings

app = typer.Typer(help="Configuration.")


@app.command()
def show() -> None:
    """Print the effective settings as JSON, with secrets and URL passwords masked."""
    echo_json(load_settings().masked())
