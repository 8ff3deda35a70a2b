"""``chatstate``: one console script, one sub-command group per job."""

from __future__ import annotations

import typer

from processor.cli import (
    api_cmd,
    bench_cmd,
    config_cmd,
    db_cmd,
    dev_cmd,
    simulate_cmd,
    topics_cmd,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="chatstate",
    help="Keeps long-lived Genesys Cloud chat sessions alive: Kafka in, PostgreSQL as the record.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(dev_cmd.app, name="dev")
app.add_typer(topics_cmd.app, name="topics")
app.add_typer(db_cmd.app, name="db")
app.add_typer(config_cmd.app, name="config")
app.add_typer(api_cmd.app, name="api")
app.add_typer(simulate_cmd.app, name="simulate")
app.add_typer(bench_cmd.app, name="bench")


def main() -> None:
    app()
