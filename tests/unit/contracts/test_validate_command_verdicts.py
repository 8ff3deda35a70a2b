"""``chatstate validate`` as an integrator runs it: the installed console script on the mixed
fixture, on stdin, and on a file that is not there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "contracts"
CHATSTATE = Path(sys.executable).with_name("chatstate")

EXPECTED_REJECTIONS = [  # (line, kind, reason) of tests/fixtures/contracts/mixed.ndjson
    (22, "snapshot", "pii_in_rejecting_field"),
    (23, "envelope", "invalid_json"),
    (24, "envelope", "not_an_object"),
    (25, "envelope", "invalid_envelope"),
    (26, "envelope", "invalid_envelope"),
    (27, "envelope", "invalid_envelope"),
    (28, "envelope", "invalid_envelope"),
    (29, "snapshot", "invalid_snapshot"),
    (30, "snapshot", "invalid_snapshot"),
]


def run(*args: str, stdin: bytes | None = None) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run(
        [str(CHATSTATE), "validate", *args], input=stdin, capture_output=True, timeout=60,
        check=False,
    )
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    return proc.returncode, lines, proc.stdout.decode() + proc.stderr.decode()


@pytest.fixture(scope="module")
def mixed() -> tuple[int, list[dict[str, Any]], str]:
    return run(str(FIXTURES / "mixed.ndjson"))


def test_each_rejected_line_gets_a_verdict_with_line_kind_and_reason(
    mixed: tuple[int, list[dict[str, Any]], str],
) -> None:
    _, lines, _ = mixed
    verdicts = [(v["line"], v["kind"], v["reason"]) for v in lines[:-1]]
    assert verdicts == EXPECTED_REJECTIONS
    assert all(v["verdict"] == "rejected" for v in lines[:-1])


def test_the_last_line_summarises_the_capture(
    mixed: tuple[int, list[dict[str, Any]], str],
) -> None:
    code, lines, _ = mixed
    assert lines[-1] == {
        "accepted": 19,
        "skipped": 2,
        "rejected": 9,
        "rejectedByReason": {
            "invalid_envelope": 4, "invalid_json": 1, "invalid_snapshot": 2,
            "not_an_object": 1, "pii_in_rejecting_field": 1,
        },
        "skippedByReason": {"heartbeat": 1, "socket_closing": 1},
        # lastAgentMessage and cardToken cards; legacy chat's context.email twice; one phone.
        "piiFoundByKind": {"card_number": 2, "email": 2, "phone": 1},
    }
    assert code == 1


def test_the_output_never_repeats_the_records_content(
    mixed: tuple[int, list[dict[str, Any]], str],
) -> None:
    _, _, output = mixed
    for value in ("4111", "example.com", "7946", "CUST-000042", "not-a-session-id", "Test"):
        assert value not in output


@pytest.mark.parametrize(
    "name",
    ["web_messaging_lifecycle.ndjson", "legacy_web_chat.ndjson", "eventbridge_detail.ndjson"],
)
def test_clean_captures_exit_zero(name: str) -> None:
    code, lines, _ = run(str(FIXTURES / name))
    assert code == 0
    assert len(lines) == 1
    assert lines[0]["rejected"] == 0


def test_reads_stdin_when_told_dash() -> None:
    code, lines, _ = run("-", stdin=(FIXTURES / "eventbridge_detail.ndjson").read_bytes())
    assert code == 0
    assert lines[-1]["accepted"] == 3


def test_an_unreadable_file_exits_two() -> None:
    code, lines, output = run(str(FIXTURES / "no-such-capture.ndjson"))
    assert code == 2
    assert lines == []
    assert "cannot read" in output
