"""``chatstate validate [FILE|-]``: what chatstate would make of a capture of Genesys traffic.

An integrator runs this on NDJSON captured from their own org (notification envelopes, plain or
EventBridge-wrapped, and data-action snapshots, one per line) before pointing chatstate at it.
Output is JSON lines: one verdict per rejected line (its number, kind and reason, never its
content), then a summary on the last line. Exit 0 when nothing was rejected, 1 otherwise, 2 when
the input cannot be read.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from processor.cli._common import echo_json
from processor.core.normalise import inspect_genesys
from processor.core.snapshots import GuardedSnapshot, parse_snapshot

__all__ = ["Report", "app", "validate_lines"]

app = typer.Typer(help="Check a capture of Genesys traffic (NDJSON) against chatstate's contracts.")


@dataclass
class Report:
    rejections: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    pii: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "skipped": sum(self.skipped.values()),
            "rejected": sum(self.rejected.values()),
            "rejectedByReason": dict(sorted(self.rejected.items())),
            "skippedByReason": dict(sorted(self.skipped.items())),
            "piiFoundByKind": dict(sorted(self.pii.items())),
        }


def _is_snapshot(line: bytes) -> bool:
    """A data-action body has ``persistentSessionId`` and ``stateSnapshot`` at the top level;
    anything else (including what is not JSON at all) is judged as a Genesys envelope."""
    if b"stateSnapshot" not in line:
        return False
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and "persistentSessionId" in doc and "stateSnapshot" in doc


def validate_lines(lines: Iterable[bytes]) -> Report:
    """Judge each non-blank line as stage 1 would. Pure: the command only reads and prints."""
    report = Report()
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        if _is_snapshot(line):
            kind = "snapshot"
            result = parse_snapshot(line)
            if isinstance(result, GuardedSnapshot):
                report.pii.update(f.kind for f in result.findings)
                if not result.rejected:
                    report.accepted += 1
                    continue
                reason, detail = "pii_in_rejecting_field", ", ".join(
                    f"{f.path}: {f.kind}" for f in result.rejected
                )
            else:
                reason, detail = result.reason, result.detail
        else:
            kind = "envelope"
            verdict, pii_kinds = inspect_genesys(line)
            report.pii.update(pii_kinds)
            if verdict.kind == "accepted":
                report.accepted += 1
                continue
            if verdict.kind == "skipped":
                report.skipped[verdict.reason] += 1
                continue
            reason, detail = verdict.reason, verdict.detail
        report.rejected[reason] += 1
        report.rejections.append(
            {"line": number, "kind": kind, "verdict": "rejected", "reason": reason,
             "detail": detail}
        )
    return report


@app.callback(invoke_without_command=True)
def validate(
    source: str = typer.Argument("-", metavar="[FILE|-]", help="NDJSON file; - for stdin."),
) -> None:
    """Judge every line of a capture; print rejected lines and a summary as JSON lines."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        typer.secho(f"error: cannot read {source}: {exc.strerror or exc}", err=True,
                    fg=typer.colors.RED)
        raise typer.Exit(2) from None
    report = validate_lines(data.splitlines())
    for rejection in report.rejections:
        echo_json(rejection)
    echo_json(report.summary())
    raise typer.Exit(1 if report.rejected else 0)
