"""``chatstate simulate``: realistic Genesys traffic, to a file or straight onto the topics."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.devstack.resolve import endpoints
from processor.servers import Endpoints
from processor.sim import (
    ProduceStats,
    SimConfig,
    Simulation,
    expected_summary,
    produce,
    write_ndjson,
)
from processor.topics import Catalog

__all__ = ["app"]

app = typer.Typer(help="Simulated Genesys traffic.")


def _start(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@app.callback(invoke_without_command=True)
@friendly_errors
def simulate(
    sessions: Annotated[int | None, typer.Option(help="Sessions to simulate.")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Records/s when producing (default: as fast as acked).")
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(help="Seconds to produce; with --rate and no --sessions, sizes the run."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed + --start: identical output.")] = 7,
    start: Annotated[
        str | None, typer.Option(help="Simulated start time, ISO-8601 (default: now, UTC).")
    ] = None,
    out: Annotated[
        str | None, typer.Option(help="Write NDJSON to FILE ('-' = stdout) instead of Kafka.")
    ] = None,
    expected: Annotated[
        Path | None, typer.Option(help="Write the expected outcome per session (JSON) here.")
    ] = None,
    malformed: Annotated[float, typer.Option(help="Share of extra malformed records.")] = 0.01,
    eventbridge: Annotated[float, typer.Option(help="Share wrapped by EventBridge.")] = 0.10,
) -> None:
    """Generate web messaging and legacy web chat sessions (returns, transfers, two tabs, future
    orphans, customers typing synthetic card numbers and e-mail addresses, a few malformed
    records) exactly as the bridge, the data actions and the API deliver them."""
    if sessions is None and not (rate and duration):
        sessions = 100
    target = int(rate * duration) if sessions is None and rate and duration else None
    sim = Simulation(
        SimConfig(
            seed=seed, start=_start(start), sessions=sessions, target_events=target,
            malformed_share=malformed, eventbridge_share=eventbridge,
        )
    )
    if out is not None:
        if out == "-":
            n = write_ndjson(sim.records(), sys.stdout)
        else:
            with open(out, "w") as f:
                n = write_ndjson(sim.records(), f)
        typer.echo(f"wrote {n} records for {len(sim.plans)} sessions", err=True)
    else:
        settings = load_settings()
        ep = endpoints(settings)
        catalog = Catalog.load(settings.topics_file, settings.topic_prefix)
        stats = asyncio.run(_produce(sim, ep, catalog, rate, duration))
        typer.echo(
            f"produced {stats.sent} records for {len(sim.plans)} sessions in "
            f"{stats.finished - stats.started:.1f} s ({stats.rate:,.0f}/s): "
            + ", ".join(f"{k} {v}" for k, v in sorted(stats.by_kind.items())),
            err=True,
        )
    if expected is not None:
        expected.write_text(json.dumps(expected_summary(sim.plans, sim.counts), indent=1) + "\n")


async def _produce(
    sim: Simulation, ep: Endpoints, catalog: Catalog, rate: float | None, duration: float | None
) -> ProduceStats:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not sys.stderr.isatty():
        return await produce(sim.records(), ep.kafka_bootstrap, catalog,
                             security=ep.kafka_security, rate=rate, duration=duration)
    total = int(rate * duration) if rate and duration else None
    with Progress(
        TextColumn("producing"), BarColumn(), TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(), transient=True,
    ) as bar:
        task = bar.add_task("produce", total=total)
        return await produce(
            sim.records(), ep.kafka_bootstrap, catalog, security=ep.kafka_security,
            rate=rate, duration=duration,
            on_progress=lambda n: bar.update(task, completed=n),
        )
