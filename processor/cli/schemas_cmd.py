"""``chatstate schemas export DIR``: JSON Schema per contract and an AsyncAPI 3.0 document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.topics import Catalog
from schemas.export import write

app = typer.Typer(help="The contracts as JSON Schema and AsyncAPI, for consumers to validate.")

ASYNCAPI_VERSION = "2"  # the contracts' version, not the package's: bump with a contract change


@app.command()
@friendly_errors
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write (created if missing).")],
) -> None:
    """Write one <contract>.schema.json per contract and asyncapi.yaml for topics.yaml."""
    settings = load_settings()
    catalog = Catalog.load(settings.topics_file)  # logical names: no environment prefix
    for path in write(directory, catalog.topics, ASYNCAPI_VERSION):
        typer.echo(f"wrote {path}")
