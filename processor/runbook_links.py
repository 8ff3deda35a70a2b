"""Alerts' runbook links made absolute with ``CHATSTATE_RUNBOOK_BASE_URL`` on the way out.

The core stays free of configuration: ``alert()`` writes the relative ``docs/runbook.md#anchor``
(the contract in ``schemas.alerts.RUNBOOK``) and the alert log in PostgreSQL keeps it. The shell
prefixes the base when it publishes to ``chat.alerts``, so a pager shows a link that opens.
The Prometheus rules take the same base (deploy/helm values ``runbookBaseUrl``; the compose
Prometheus substitutes the same environment variable)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Protocol, TypeVar

__all__ = ["absolute_alert_records", "runbook_url"]


class _Record(Protocol):  # read-only members: frozen dataclasses (OutboxRecord) qualify
    @property
    def topic(self) -> str: ...
    @property
    def value(self) -> bytes | None: ...  # None: a tombstone (never on chat.alerts)


R = TypeVar("R", bound=_Record)


def runbook_url(link: str, base: str) -> str:
    """``docs/runbook.md#x`` under ``base`` (a slash added between them if missing); links that
    are absolute already, and an empty base, leave it unchanged."""
    if not base or "://" in link:
        return link
    return base.rstrip("/") + "/" + link.lstrip("/")


def absolute_alert_records(records: Sequence[R], base: str, alerts_topic: str) -> list[R]:
    """The records with every alert's ``runbook`` absolute; other records (and everything when
    no base is set) are the same objects. A value that is not an alert's JSON is left as is:
    what the outbox committed is published, never dropped over a link."""
    if not base:
        return list(records)
    out: list[R] = []
    for rec in records:
        if rec.topic == alerts_topic and rec.value is not None:
            try:
                body = json.loads(rec.value)
                link = body["runbook"]
            except (ValueError, TypeError, KeyError):
                out.append(rec)
                continue
            body["runbook"] = runbook_url(str(link), base)
            value = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            rec = dataclasses.replace(rec, value=value)  # type: ignore[type-var]
        out.append(rec)
    return out
