"""Every dead-letter reason has the runbook section its alerts and `dlq show` link to."""

from __future__ import annotations

import re

import pytest

from processor.dlq import runbook_anchor
from processor.settings import project_root
from schemas.dlq import DeadLetterReason

RUNBOOK = (project_root() / "docs" / "runbook.md").read_text()
HEADINGS = set(re.findall(r"^#{2,3} (\S+)$", RUNBOOK, flags=re.MULTILINE))


@pytest.mark.parametrize("reason", list(DeadLetterReason))
def test_each_reason_has_a_runbook_section(reason: DeadLetterReason) -> None:
    assert runbook_anchor(reason) in HEADINGS


def test_the_runbook_documents_the_dlq_tools() -> None:
    for command in ("chatstate dlq list", "chatstate dlq show", "chatstate dlq replay"):
        assert command in RUNBOOK
