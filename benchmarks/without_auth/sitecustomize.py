"""Benchmark-only: the API with authentication taken out, to measure what authentication costs.

``benchmarks/api_bench.py`` puts this directory first on ``PYTHONPATH`` of a second API it
serves; Python imports ``sitecustomize`` at start-up in every process of it (the supervisor and
its spawned workers), and this replaces ``processor.api.guard.authorise`` with a function that
checks nothing. Everything else is the shipped code path, so the difference between the two
servers' figures is authentication. It lives here, not behind a setting: production code has no
way to switch authentication off.
"""

from __future__ import annotations

from starlette.requests import Request

from processor.api import guard


def _authorise_nothing(request: Request, scope: str) -> None:
    request.scope[guard.CLIENT_KEY] = "bench-without-auth"


guard.authorise = _authorise_nothing  # type: ignore[assignment]
