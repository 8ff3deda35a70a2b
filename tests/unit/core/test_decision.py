"""The ids a decision carries (processor/core/decision.py): derived from what they name, so a
decision computed twice (a replay, a retry after a crash) carries the same ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from processor.core.decision import alert, state_id
from schemas.alerts import AlertType, Severity

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PSID = uuid.UUID("00000000-0000-4000-8000-00000000a001")


def test_a_state_id_is_the_same_for_the_same_session_and_version_and_differs_otherwise() -> None:
    assert state_id(PSID, 3) == state_id(PSID, 3)
    assert state_id(PSID, 3) != state_id(PSID, 4)
    assert state_id(PSID, 3) != state_id(uuid.UUID(int=1), 3)


def test_an_alert_id_derives_from_its_dedup_key_not_from_when_it_was_raised() -> None:
    a = alert(AlertType.SESSION_EXPIRED, Severity.INFO, "s", "session_expired:x", NOW)
    again = alert(AlertType.SESSION_EXPIRED, Severity.INFO, "s", "session_expired:x",
                  NOW.replace(hour=13))
    other = alert(AlertType.SESSION_EXPIRED, Severity.INFO, "s", "session_expired:y", NOW)
    assert a.id == again.id
    assert a.id != other.id
    assert a.runbook.endswith("session-expired")


@given(st.text(min_size=401, max_size=3000), st.text(min_size=1, max_size=5))
def test_a_long_dedup_key_keeps_its_head_and_stays_short_and_unique(key: str, tail: str) -> None:
    a = alert(AlertType.PII_DETECTED, Severity.WARNING, "s", key, NOW)
    b = alert(AlertType.PII_DETECTED, Severity.WARNING, "s", key + tail, NOW)
    assert len(a.dedup_key) < 400
    assert a.dedup_key.startswith(key[:120])
    assert a.dedup_key != b.dedup_key
    assert a.id != b.id


def test_a_dedup_key_within_the_limit_is_kept_as_it_is() -> None:
    key = "k" * 400
    assert alert(AlertType.PII_DETECTED, Severity.WARNING, "s", key, NOW).dedup_key == key
