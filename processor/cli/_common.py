"""What every sub-command shares: settings, logging and turning errors into exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from processor.errors import ChatstateError
from processor.logs import configure_logging
from processor.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")


def load_settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Our own errors end the command with a one-line message and exit 1, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ChatstateError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None

    return wrapper


def echo_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str, sort_keys=True) + "\n")
