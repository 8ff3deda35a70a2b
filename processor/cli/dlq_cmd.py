"""``chatstate dlq``: list, show and replay dead letters; ``new-key`` for their encryption.

What is shown is what ``chat.dlq`` holds, redacted — and passed through the PII guard once more
on the way to the screen, so a dead letter written before redaction existed cannot leak either.
The decrypted original never reaches the terminal: an operator fixing a producer needs *where*
the record broke (the redacted bytes keep every byte the guard did not replace, and the
findings say which paths held what kind of PII), not the card number itself. When the exact
bytes are needed (the guard itself failed on a record, say), ``show --original-to FILE`` writes
the decrypted original to a new file only its owner can read.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.cli._dlq_io import Found, fetch, plan_replay, read, replay, replayed
from processor.core.pii import redact_bytes
from processor.devstack.resolve import endpoints
from processor.dlq import decrypt_original, new_key, runbook_anchor
from processor.settings import Settings
from processor.topics import Catalog
from schemas.dlq import DeadLetterReason, Stage

app = typer.Typer(help="Dead letters on chat.dlq: list, show, replay (docs/runbook.md).")

_REF = re.compile(r"^(\d+):(\d+)$")
_AGO = re.compile(r"^(\d+)([smhd])$")


def _dlq_topic(settings: Settings) -> str:
    return Catalog.load(settings.topics_file, settings.topic_prefix).name("chat.dlq")


def _ref(text: str) -> tuple[int, int]:
    m = _REF.match(text)
    if not m:
        raise typer.BadParameter(f"{text!r}: expected PARTITION:OFFSET, e.g. 0:42")
    return int(m.group(1)), int(m.group(2))


def _when(text: str | None) -> datetime | None:
    """An ISO-8601 time (UTC unless it says otherwise) or an age: 30m, 6h, 2d."""
    if text is None:
        return None
    m = _AGO.match(text)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected an ISO-8601 time or an age like 6h") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _shown(raw: bytes | None) -> str:
    """Bytes for a terminal: redacted again (idempotent on a redacted dead letter), text where
    it is UTF-8, ``\\xNN`` where it is not."""
    if raw is None:
        return "(none)"
    return redact_bytes(raw)[0].decode("utf-8", errors="backslashreplace")


def _summary(f: Found) -> dict[str, object]:
    i = f.info
    return {
        "dlq": f.ref,
        "failedAt": i.failed_at.isoformat(),
        "stage": i.stage.value,
        "reason": i.reason.value,
        "source": f"{i.source_topic}:{i.source_partition}:{i.source_offset}",
        "redacted": i.redacted,
        "encryptedOriginal": f.encrypted_original,
        "truncated": f.truncated,
    }


@app.command("list")
@friendly_errors
def list_(
    reason: Annotated[
        list[DeadLetterReason] | None, typer.Option(help="Only this reason (repeatable).")
    ] = None,
    stage: Annotated[Stage | None, typer.Option(help="Only this stage.")] = None,
    source_topic: str = typer.Option(None, help="Only dead letters from this topic."),
    since: str = typer.Option(None, help="Failed at or after: ISO-8601 time or an age (6h, 2d)."),
    until: str = typer.Option(None, help="Failed before: ISO-8601 time or an age."),
    limit: int = typer.Option(100, min=1, help="At most this many lines."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per dead letter."),
) -> None:
    """One line per dead letter: where it is, when and why it failed, where it came from,
    whether the guard redacted it and whether its encrypted original travels with it."""
    settings = load_settings()
    start, end = _when(since), _when(until)
    wanted = set(reason or ())

    async def go() -> int:
        shown = 0
        async for f in read(endpoints(settings), _dlq_topic(settings), since=start):
            if not isinstance(f, Found):
                continue
            i = f.info
            if (
                (wanted and i.reason not in wanted)
                or (stage is not None and i.stage is not stage)
                or (source_topic and i.source_topic != source_topic)
                or (start and i.failed_at < start)
                or (end and i.failed_at >= end)
            ):
                continue
            s = _summary(f)
            if as_json:
                sys.stdout.write(json.dumps(s) + "\n")
            else:
                yes = {True: "yes", False: "no"}
                sys.stdout.write(
                    f"{s['dlq']:<10} {s['failedAt']}  {s['stage']:<9} {s['reason']:<24} "
                    f"{s['source']}  redacted={yes[i.redacted]} "
                    f"original={yes[f.encrypted_original]}"
                    + (f" truncated={f.truncated}" if f.truncated else "")
                    + "\n"
                )
            shown += 1
            if shown >= limit:
                break
        return shown

    if asyncio.run(go()) == 0 and not as_json:
        typer.echo("no dead letters match", err=True)


@app.command()
@friendly_errors
def show(
    ref: str = typer.Argument(..., help="PARTITION:OFFSET on chat.dlq (from `dlq list`)."),
    as_json: bool = typer.Option(False, "--json", help="As one JSON object."),
    original_to: Annotated[
        Path | None,
        typer.Option(
            help="Write the decrypted original (raw PII!) to this new file, mode 0600; never shown."
        ),
    ] = None,
) -> None:
    """A dead letter's headers, detail, findings, key and value, all redacted."""
    settings = load_settings()
    partition, offset = _ref(ref)
    topic = _dlq_topic(settings)
    f = asyncio.run(fetch(endpoints(settings), topic, partition, offset))
    data = {
        **_summary(f),
        "dlqTopic": topic,
        "detail": f.info.detail,
        "findings": [x for x in f.info.findings.split(",") if x],
        "runbook": f"docs/runbook.md#{runbook_anchor(f.info.reason)}",
        "headers": [[k, _shown(v)] for k, v in f.original_headers],
        "key": _shown(f.record.key),
        "value": _shown(f.record.value),
        "valueBytes": len(f.record.value or b""),
    }
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        for name in (
            "dlq",
            "source",
            "failedAt",
            "stage",
            "reason",
            "detail",
            "redacted",
            "encryptedOriginal",
            "truncated",
            "runbook",
        ):
            typer.echo(f"{name:<18} {data[name]}")
        typer.echo(f"{'findings':<18} {', '.join(data['findings']) or '-'}")  # type: ignore[arg-type]
        typer.echo("headers (the original's, redacted):")
        for k, v in data["headers"]:  # type: ignore[attr-defined]
            typer.echo(f"  {k}: {v}")
        typer.echo(f"{'key':<18} {data['key']}")
        typer.echo(f"value ({data['valueBytes']} bytes):\n{data['value']}")
    if original_to is not None:
        _write_original(settings, f, original_to)


def _write_original(settings: Settings, f: Found, path: Path) -> None:
    if settings.dlq_encryption_key is None:
        raise typer.BadParameter("--original-to needs CHATSTATE_DLQ_ENCRYPTION_KEY")
    o = decrypt_original(f.record, settings.dlq_encryption_key.get_secret_value())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise typer.BadParameter(f"{path} exists; --original-to never overwrites a file") from None
    with os.fdopen(fd, "wb") as out:
        out.write(o.value)
    typer.secho(
        f"wrote the original value ({len(o.value)} bytes) to {path}: it holds raw PII; "
        "delete it when done",
        fg=typer.colors.YELLOW,
        err=True,
    )


@app.command("replay")
@friendly_errors
def replay_(
    refs: Annotated[list[str], typer.Argument(help="PARTITION:OFFSET on chat.dlq, one or more.")],
    redacted: bool = typer.Option(
        False, "--redacted", help="Allow replaying the redacted copy when no original can be."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent; send nothing."),
) -> None:
    """Re-produce dead letters to their source topics once their cause is fixed: at most once
    each, from the encrypted original (or the redacted copy with --redacted), marked with a
    chatstate-replay-of header."""
    settings = load_settings()
    ep = endpoints(settings)
    topic = _dlq_topic(settings)
    key = settings.dlq_encryption_key.get_secret_value() if settings.dlq_encryption_key else None

    async def go() -> None:
        for text in refs:
            partition, offset = _ref(text)
            f = await fetch(ep, topic, partition, offset)
            plan = plan_replay(f, topic, encryption_key=key, redacted=redacted)
            what = "its redacted copy" if plan.from_redacted else "its original"
            if dry_run:
                refusal = await replayed(ep.database_url, topic, f)
                typer.echo(
                    f"{f.ref}: would replay {what} ({len(plan.value)} bytes) to {plan.topic}"
                    + (f" -- but it would be refused: {refusal}" if refusal else "")
                )
                continue
            p, o = await replay(ep, topic, f, plan)
            typer.echo(f"{f.ref}: replayed {what} to {plan.topic}:{p}:{o}")

    asyncio.run(go())


@app.command("new-key")
def new_key_() -> None:
    """Print a fresh key for CHATSTATE_DLQ_ENCRYPTION_KEY (keep it with the other secrets)."""
    typer.echo(new_key())
