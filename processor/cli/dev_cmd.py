"""``chatstate dev``: the local Kafka + PostgreSQL stack."""

from __future__ import annotations

import shlex

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.devstack.stack import LocalStack

app = typer.Typer(help="The local stack: a real Kafka (KRaft) and PostgreSQL, no Docker needed.")


@app.command()
@friendly_errors
def up(
    secure: bool = typer.Option(
        False, help="Kafka over SASL_SSL (SCRAM-SHA-512) and PostgreSQL over TLS only, with a "
        "throwaway CA; `chatstate dev env` prints what clients need.",
    ),
) -> None:
    """Start Kafka and PostgreSQL (idempotent) and wait until both answer."""
    status, took = LocalStack(load_settings()).up(secure=secure or None)
    typer.echo(
        f"stack up in {took:.1f}s: kafka {status.kafka_bootstrap} (pid {status.kafka_pid}),"
        f" postgres pid {status.postgres_pid}"
    )


@app.command()
@friendly_errors
def down() -> None:
    """Stop exactly the processes `dev up` started."""
    stopped = LocalStack(load_settings()).down()
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
@friendly_errors
def status() -> None:
    """Say what is running; exit 1 unless both servers answer."""
    s = LocalStack(load_settings()).status()
    typer.echo(f"kafka:    {'up ' + str(s.kafka_bootstrap) if s.kafka_running else 'down'}")
    typer.echo(f"postgres: {'up' if s.postgres_running else 'down'}")
    if not s.up:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def env() -> None:
    """Print KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL (and for a secure stack the KAFKA_SASL_*
    and KAFKA_SSL_CAFILE settings) for the running stack (eval-able)."""
    s = LocalStack(load_settings()).status()
    if not s.up:
        typer.secho("error: the stack is not up (chatstate dev up)", err=True, fg="red")
        raise typer.Exit(1)
    for name, value in s.client_environment().items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@app.command()
@friendly_errors
def restart(
    which: str = typer.Argument(..., help="kafka or postgres"),
    hard: bool = typer.Option(False, help="SIGKILL instead of a clean stop (kafka)"),
) -> None:
    """Restart one server of the stack (fault drills)."""
    if which not in ("kafka", "postgres"):
        raise typer.BadParameter("kafka or postgres")
    LocalStack(load_settings()).restart(which, hard=hard)
    typer.echo(f"{which} restarted")
