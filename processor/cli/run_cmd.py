"""``chatstate run`` (what ``make run`` does): the whole thing in the foreground.

Brings the local stack up unless servers are named, applies topics and migrations, starts the
worker and the API, optionally feeds a small scripted scenario so a newcomer sees sessions and
alerts appear, and on Ctrl-C stops everything it started — the stack too, if it started it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from importlib.util import find_spec

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.cli._demo_auth import demo_api_auth
from processor.devstack.resolve import endpoints
from processor.devstack.stack import LocalStack
from processor.migrate import migrate
from processor.topics import Catalog, apply

app = typer.Typer(help="Run everything in the foreground (make run).")


@app.callback(invoke_without_command=True)
@friendly_errors
def run(
    demo: bool = typer.Option(True, help="Feed a small scripted scenario once the worker is up."),
    api: bool = typer.Option(True, help="Serve the HTTP API beside the worker."),
    genesys: bool = typer.Option(
        True, help="Run the Genesys emulator and the bridge (unless GENESYS_* name an org, "
        "then the bridge only): Genesys -> bridge -> Kafka -> worker, with write-back."
    ),
) -> None:
    """Stack up, topics + migrations, worker + API; Ctrl-C stops what this started."""
    settings = load_settings()
    stack = LocalStack(settings)
    named = bool(settings.kafka_bootstrap_servers and settings.database_url)
    started_stack = False
    if not named:
        was_up = stack.status().up
        status, took = stack.up()
        started_stack = not was_up
        typer.echo(
            f"local stack {'started' if started_stack else 'already up'} ({took:.1f}s): "
            f"kafka {status.kafka_bootstrap}"
        )
    ep = endpoints(settings)
    plan = asyncio.run(
        apply(Catalog.load(settings.topics_file, settings.topic_prefix), ep.kafka_bootstrap,
              ep.kafka_security)
    )
    typer.echo(
        f"topics: {len(plan.create)} created, {len(plan.in_sync)} in sync"
        + (f", DRIFT: {plan.drift}" if plan.drift else "")
    )
    applied = asyncio.run(migrate(ep.database_url))
    typer.echo(f"migrations: {len(applied)} applied")

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": ep.kafka_bootstrap,
        "DATABASE_URL": ep.database_url,
    }
    exe = [sys.executable, "-m", "processor.cli"]
    children: list[subprocess.Popen[bytes]] = [subprocess.Popen([*exe, "worker"], env=env)]
    if api and find_spec("processor.api") is not None:
        demo_env, said = demo_api_auth(env)  # a signing key and a client, unless configured
        env.update(demo_env)
        for line in said:
            typer.echo(line)
        children.append(subprocess.Popen([*exe, "api"], env=env))
        typer.echo(f"API on http://{settings.api_host}:{settings.api_port} (docs: "
                   f"http://{settings.api_ops_host}:{settings.api_ops_port}/docs)")
    if genesys:
        children.extend(_genesys(env, exe))
    if demo and find_spec("processor.sim") is not None:
        time.sleep(5)
        children.append(
            subprocess.Popen(
                [*exe, "simulate", "--sessions", "20", "--rate", "20", "--seed", "7"],
                env=env,
            )
        )
    typer.echo("running; Ctrl-C stops everything this started")
    try:
        while all(c.poll() is None for c in children[:1]):
            time.sleep(0.5)
    except KeyboardInterrupt:
        typer.echo("\nstopping ...")
    finally:
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGINT)
        for c in children:
            try:
                c.wait(30)
            except subprocess.TimeoutExpired:
                c.kill()
        if started_stack:
            stack.down()
            typer.echo("local stack stopped")


def _genesys(env: dict[str, str], exe: list[str]) -> list[subprocess.Popen[bytes]]:
    """The bridge, and the emulator it talks to when no org is configured (its own seed, so
    its conversations are not the simulator's)."""
    from processor.emulator import free_port

    out: list[subprocess.Popen[bytes]] = []
    configured = any(os.environ.get(k) for k in ("GENESYS_REGION", "GENESYS_API_BASE_URL"))
    if not configured:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        out.append(subprocess.Popen(
            [*exe, "emulator", "--port", str(port), "--sessions", "20", "--rate", "10",
             "--seed", "11"], env=env, stdout=subprocess.DEVNULL,
        ))
        env.update({"GENESYS_API_BASE_URL": url, "GENESYS_LOGIN_BASE_URL": url,
                    "GENESYS_CLIENT_ID": "emulator-client",
                    "GENESYS_CLIENT_SECRET": "emulator-secret"})
        typer.echo(f"Genesys emulator on {url} (faults: POST {url}/emulator/faults)")
    out.append(subprocess.Popen([*exe, "bridge"], env=env))
    typer.echo("bridge: Genesys notifications -> genesys.conversations (docs/bridge.md)")
    return out
