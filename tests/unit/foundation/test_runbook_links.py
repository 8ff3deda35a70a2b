"""CHATSTATE_RUNBOOK_BASE_URL makes the alerts' runbook links absolute when they are published,
and touches nothing else."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from processor.runbook_links import absolute_alert_records, runbook_url

BASE = "https://git.example.com/chatstate/blob/main/"


@dataclass(frozen=True)
class Rec:
    topic: str
    value: bytes


def test_a_relative_link_goes_under_the_base_with_one_slash() -> None:
    assert runbook_url("docs/runbook.md#dead-letter", BASE) == BASE + "docs/runbook.md#dead-letter"
    assert runbook_url("docs/runbook.md#x", BASE.rstrip("/")) == BASE + "docs/runbook.md#x"


def test_no_base_or_an_absolute_link_is_unchanged() -> None:
    assert runbook_url("docs/runbook.md#x", "") == "docs/runbook.md#x"
    assert runbook_url("https://elsewhere/x", BASE) == "https://elsewhere/x"


def test_only_alerts_are_rewritten_and_everything_else_is_kept() -> None:
    alert = {"type": "dead_letter", "runbook": "docs/runbook.md#dead-letter", "summary": "é"}
    session = Rec("p.chat.sessions", b'{"runbook": "docs/runbook.md#x"}')
    broken = Rec("p.chat.alerts", b"not json")
    out = absolute_alert_records(
        [Rec("p.chat.alerts", json.dumps(alert).encode()), session, broken], BASE, "p.chat.alerts"
    )
    assert json.loads(out[0].value) == {**alert, "runbook": BASE + "docs/runbook.md#dead-letter"}
    assert out[1] is session
    assert out[2] is broken  # published as committed, never dropped over a link


@given(st.lists(st.binary(max_size=40), max_size=5))
def test_without_a_base_the_records_are_the_same_objects(values: list[bytes]) -> None:
    recs = [Rec("chat.alerts", v) for v in values]
    assert all(a is b for a, b in zip(absolute_alert_records(recs, "", "chat.alerts"), recs,
                                      strict=True))
