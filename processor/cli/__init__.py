"""``chatstate``: one console script, one sub-command group per job.

One line per group below (module, attribute, name): adding a command never touches another's
line, and a group's module is imported only here.
"""

from __future__ import annotations

from importlib import import_module

import typer

__all__ = ["app", "main"]

_GROUPS: list[tuple[str, str, str]] = [
    ("processor.cli.dev_cmd", "app", "dev"),
    ("processor.cli.topics_cmd", "app", "topics"),
    ("processor.cli.db_cmd", "app", "db"),
    ("processor.cli.config_cmd", "app", "config"),
    ("processor.cli.worker_cmd", "worker_app", "worker"),
    ("processor.cli.session_cmd", "app", "session"),
    ("processor.cli.alerts_cmd", "app", "alerts"),
    ("processor.cli.customer_cmd", "app", "customer"),
    ("processor.cli.dlq_cmd", "app", "dlq"),
    ("processor.cli.run_cmd", "app", "run"),
    ("processor.cli.api_cmd", "app", "api"),
    ("processor.cli.clients_cmd", "app", "clients"),
    ("processor.cli.simulate_cmd", "app", "simulate"),
    ("processor.cli.bench_cmd", "app", "bench"),
    ("processor.cli.validate_cmd", "app", "validate"),
    ("processor.cli.schemas_cmd", "app", "schemas"),
    ("processor.cli.bridge_cmd", "bridge_app", "bridge"),
    ("processor.cli.bridge_cmd", "emulator_app", "emulator"),
]

app = typer.Typer(
    name="chatstate",
    help="Keeps long-lived Genesys Cloud chat sessions alive: Kafka in, PostgreSQL as the record.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for _module, _attr, _name in _GROUPS:
    app.add_typer(getattr(import_module(_module), _attr), name=_name)


def main() -> None:
    app()
