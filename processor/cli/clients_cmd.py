"""``chatstate clients hash-secret``: the Argon2id hash of an API client's secret.

The secret is read from stdin (one line, for scripts: ``vault read ... | chatstate clients
hash-secret``) or, on a terminal, from a prompt that does not echo; never from an argument, which
would leave it in the shell's history and in ``ps`` for everyone on the machine.
"""

from __future__ import annotations

import sys

import typer

from processor.cli._common import friendly_errors
from processor.errors import ConfigError

app = typer.Typer(help="API clients (CHATSTATE_OAUTH_CLIENTS).")


@app.callback()
def clients() -> None:
    """API clients (CHATSTATE_OAUTH_CLIENTS)."""


@app.command("hash-secret")
@friendly_errors
def hash_secret_cmd() -> None:
    """Print the Argon2id hash of a client secret read from stdin or a prompt, for the client's
    "secret_hash" in CHATSTATE_OAUTH_CLIENTS."""
    from processor.api.clients import hash_secret

    if sys.stdin.isatty():
        secret = typer.prompt("client secret", hide_input=True, confirmation_prompt=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise ConfigError("no secret given (pipe it on stdin, or type it at the prompt)")
    sys.stdout.write(hash_secret(secret) + "\n")
