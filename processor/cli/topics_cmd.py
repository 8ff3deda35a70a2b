"""``chatstate topics``: the topics declared in topics.yaml."""

from __future__ import annotations

import asyncio

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.devstack.resolve import endpoints
from processor.topics import Catalog
from processor.topics import apply as apply_topics

app = typer.Typer(help="Kafka topics as code (topics.yaml).")


@app.command()
@friendly_errors
def apply(dry_run: bool = typer.Option(False, help="Only say what would change.")) -> None:
    """Create missing topics; report drift (never deletes or shrinks). Exit 3 on drift."""
    settings = load_settings()
    catalog = Catalog.load(settings.topics_file, settings.topic_prefix)
    ep = endpoints(settings)
    result = asyncio.run(apply_topics(catalog, ep.kafka_bootstrap, ep.kafka_security,
                                      dry_run=dry_run))
    verb = "would create" if dry_run else "created"
    for spec in result.create:
        typer.echo(
            f"{verb}: {spec.name} ({spec.partitions} partitions, rf {spec.replication_factor})"
        )
    for name in result.in_sync:
        typer.echo(f"in sync: {name}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    for d in result.drift:
        typer.secho(f"drift: {d}", fg=typer.colors.YELLOW)
    if not result.clean:
        raise typer.Exit(3)


@app.command("list")
@friendly_errors
def list_() -> None:
    """List the declared topics with their key and value."""
    settings = load_settings()
    for spec in Catalog.load(settings.topics_file, settings.topic_prefix).topics.values():
        typer.echo(
            f"{spec.name}\t{spec.partitions} partitions\n  key:   {spec.key}\n  value: {spec.value}"
        )
