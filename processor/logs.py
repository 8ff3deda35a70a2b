"""The one logging set-up: structlog for our code and the stdlib loggers Faust and aiokafka use.

Every line passes through ``mask_sensitive`` whatever library wrote it, so a secret in a settings
dump, a bearer token in a header or a card number in a rejected record never reaches a log sink.
Exceptions, ours or a library's, are rendered as a plain-text traceback *before* masking: the
traceback is kept, the values in it are not.
JSON when the output is not a terminal (production), readable key=value on a terminal.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from processor.core.pii import redact_text

__all__ = ["configure_logging", "get_logger", "mask_sensitive"]

_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authori[sz]ation|api[_-]?key|cookie", re.I)
_URL_PASSWORD = re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+(?P<post>@)", re.I)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
# key=value / "key": "value" pairs inside free text, e.g. a library formatting a config dict.
_INLINE_SECRET = re.compile(
    r"(?i)([\w-]*(?:pass(?:word)?|secret|token|api[_-]?key)[\w-]*['\"]?\s*[=:]\s*['\"]?)"
    r"([^\s'\",}]+)"
)
MASK = "**********"
# Fields the logging set-up itself fills in (or, for request_id, the access log): never user data,
# and scanning them on every line was a third of the masking cost of an API request.
_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "request_id"})


def _mask_text(value: str) -> str:
    value = _URL_PASSWORD.sub(r"\g<pre>****\g<post>", value)
    value = _BEARER.sub(r"\1 " + MASK, value)
    value = _INLINE_SECRET.sub(r"\g<1>" + MASK, value)
    return redact_text(value)[0]


# Most logged strings repeat (event names, routes, methods, logger names): remembering their masked
# form halves the cost of an API access line. Short strings only, and only in this process.
_mask_short_text = functools.lru_cache(maxsize=2048)(_mask_text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return _mask_short_text(value) if len(value) <= 128 else _mask_text(value)
    if isinstance(value, dict):
        return {
            k: MASK if _SECRET_KEYS.search(str(k)) else _mask_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


@functools.lru_cache(maxsize=1024)
def _secret_key(key: str) -> bool:
    return key != "event" and _SECRET_KEYS.search(key) is not None


_PLAIN = (bool, int, float, type(None))  # no text in these: nothing to redact


def mask_sensitive(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-named keys, passwords in URLs, bearer tokens and PII."""
    for key, value in list(event_dict.items()):
        if key in _OWN_FIELDS:
            continue
        if _secret_key(key):
            event_dict[key] = MASK  # even when the value is a number
        elif not isinstance(value, _PLAIN):
            event_dict[key] = _mask_value(value)
    return event_dict


def _drop_terminal_copies(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """uvicorn adds ``color_message``, the event again with ANSI colour codes: noise in JSON."""
    event_dict.pop("color_message", None)
    return event_dict


class _StderrLines:
    """Where chatstate's own log lines go: one write per line to the ``sys.stderr`` of the moment
    (pytest swaps it per test; a stream captured at configure time would be a closed file)."""

    def __init__(self, name: str | None) -> None:
        self.name = name  # read by ``add_logger_name``

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _stderr_lines(name: str | None = None, *_args: Any) -> _StderrLines:
    return _StderrLines(name or "chatstate")


def configure_logging(
    level: str = "INFO", fmt: Literal["auto", "json", "console"] = "auto"
) -> None:
    """Idempotent: safe to call from every entry point (CLI, worker, API, tests).

    chatstate's own loggers are structlog's native ones, filtered by level when called and
    rendered straight to stderr: the stdlib path (a LogRecord, caller lookup, handler locks, a
    formatter) cost 60 of the 80 microseconds of an API access line, on every request. Library
    loggers (Faust, aiokafka, uvicorn) still go through stdlib logging into the same chain, so
    every line is masked and rendered alike whoever wrote it.
    """
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    threshold = logging.getLevelNamesMapping()[level.upper()]
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.processors.add_log_level,
            stamp,
            structlog.processors.format_exc_info,
            mask_sensitive,
            renderer,
        ],
        logger_factory=_stderr_lines,
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            stamp,
            structlog.stdlib.ExtraAdder(),
            _drop_terminal_copies,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # A library's ``log.exception``/``exc_info=True`` arrives as an exc_info tuple: the
            # renderers would print its repr (no traceback, the message unmasked) or, on a
            # terminal, a rich traceback with every frame's locals, also unmasked. Formatted to
            # plain text here, before masking, it is masked like any other field.
            structlog.processors.format_exc_info,
            mask_sensitive,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_chatstate", False):
            root.removeHandler(old)
    handler._chatstate = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(threshold)
    # A library that configured its own loggers (uvicorn's default log config gives "uvicorn"
    # a handler and propagate=False) would write around the masking: every line goes to root.
    for own in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        library = logging.getLogger(own)
        for old in list(library.handlers):
            library.removeHandler(old)
        library.propagate = True
    # Faust and mode narrate every service start and stop at INFO; chatstate logs the events
    # that matter itself (partitions assigned, batches dead-lettered, outages).
    for noisy in ("aiokafka", "kafka", "asyncio", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> Any:
    """A logger whose lines carry ``logger=<name>``; lazy, so modules may create one at import,
    before ``configure_logging`` ran."""
    return structlog.get_logger(name)
