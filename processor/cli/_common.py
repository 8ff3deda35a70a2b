"""What every sub-command shares: settings, logging and turning errors into exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from processor.errors import ChatstateError, ConfigError
from processor.logs import configure_logging
from processor.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")


def load_settings() -> Settings:
    """The settings, or ``ConfigError`` naming each variable that is not valid (never its
    value: several hold secrets)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        settings = Settings()
    except ValidationError as exc:
        named = ", ".join(f"CHATSTATE_{'_'.join(map(str, e['loc'])).upper()} ({e['msg']})"
                          for e in exc.errors(include_input=False, include_url=False))
        raise ConfigError(f"settings not valid: {named}") from None
    except SettingsError as exc:  # a complex field (dict, list) whose value is not JSON
        field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else "?"
        raise ConfigError(f"CHATSTATE_{field.upper()} is not valid JSON") from None
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
