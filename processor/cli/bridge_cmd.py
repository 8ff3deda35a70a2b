"""``chatstate bridge`` (Genesys notifications -> Kafka, backfill, write-back) and
``chatstate emulator`` (a local Genesys for demos and tests)."""

from __future__ import annotations

import asyncio
import signal

import typer

from processor.cli._common import friendly_errors, load_settings

bridge_app = typer.Typer(help="Bring Genesys notifications onto Kafka.")
emulator_app = typer.Typer(help="A local Genesys Cloud emulator (demos and tests).")


@bridge_app.callback(invoke_without_command=True)
@friendly_errors
def bridge(
    name: str = typer.Option("default", help="Bridges with one name share one lease."),
) -> None:
    """Run the bridge; a second one with the same name waits as a standby."""
    import logging

    from processor.bridge import Bridge
    from processor.servers import from_settings

    settings = load_settings()
    logging.getLogger("httpx").setLevel(
        logging.WARNING
    )  # a line per request: the bridge logs its own
    ep = from_settings(settings)  # never the dev stack's: see processor/servers.py
    runner = Bridge(settings, ep.kafka_bootstrap, ep.kafka_security, ep.database_url, name)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await runner.run(stop)

    asyncio.run(main())


@emulator_app.callback(invoke_without_command=True)
@friendly_errors
def emulator(
    port: int = typer.Option(8090, help="Listen on 127.0.0.1:PORT."),
    sessions: int = typer.Option(
        0,
        help="Feed this many simulated sessions once a bridge "
        "subscribed (0: wait for POST /emulator/feed).",
    ),
    rate: float = typer.Option(50.0, help="Notifications per second of the feed."),
    seed: int = typer.Option(7, help="The simulator's seed for the fed traffic."),
    queues: int = typer.Option(3, help="Queues the traffic is spread over."),
    heartbeat_s: float = typer.Option(30.0, help="Seconds between socket heartbeats."),
) -> None:
    """Serve OAuth, notification channels, analytics, conversations and participant
    attributes on localhost; prints the GENESYS_* settings a bridge needs."""
    import time

    from processor.emulator import EmulatorServer, Org

    load_settings()
    with EmulatorServer(Org(heartbeat_s=heartbeat_s), port=port) as emu:
        for k, v in emu.env().items():
            typer.echo(f"export {k}={v}")
        if sessions:
            emu.call(_feed, emu, sessions, rate, queues, seed)
        else:
            emu.call(_plan, emu, queues)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


async def _feed(emu: object, sessions: int, rate: float, queues: int, seed: int) -> None:
    feed = emu.app.state.feed  # type: ignore[attr-defined]
    feed.plan(0, seed, queues)  # the queues exist before a bridge looks for them
    feed.start(sessions=sessions, rate=rate, queues=queues, seed=seed)


async def _plan(emu: object, queues: int) -> None:
    """Register the queues up front so a bridge discovers them before any traffic."""
    emu.app.state.feed.plan(0, 7, queues)  # type: ignore[attr-defined]
