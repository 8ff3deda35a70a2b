"""The ids a decision carries (processor/core/decision.py): derived from what they name, so a
decision computed twice (a replay, a retry after a crash) carries the same ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from processor.core.decision import _IDS, alert, evolve, state_id
from schemas.alerts import AlertType, Severity
from schemas.session import SessionState, SessionStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PSID = uuid.UUID("00000000-0000-4000-8000-00000000a001")


def test_a_state_id_is_the_same_for_the_same_session_and_version_and_differs_otherwise() -> None:
    assert state_id(PSID, 3) == state_id(PSID, 3)
    assert state_id(PSID, 3) != state_id(PSID, 4)
    assert state_id(PSID, 3) != state_id(uuid.UUID(int=1), 3)


@given(st.uuids(), st.integers(min_value=0, max_value=2**40))
def test_a_state_id_is_the_uuid5_of_the_session_and_version(psid: uuid.UUID, version: int) -> None:
    """Computed without ``uuid.uuid5`` for speed; ids already published must not change."""
    made = state_id(psid, version)
    assert made == uuid.uuid5(_IDS, f"{psid}:{version}")
    assert (made.version, made.variant) == (5, uuid.RFC_4122)


@given(
    st.sampled_from(SessionStatus),
    st.none() | st.text(max_size=8),
    st.none() | st.integers(min_value=0, max_value=10),
)
def test_evolve_makes_what_model_copy_makes(
    status: SessionStatus, customer: str | None, version: int | None
) -> None:
    s = SessionState(persistent_session_id=PSID, status=SessionStatus.IDLE, created_at=NOW,
                     updated_at=NOW, latest_snapshot={"intent": "x"})
    changes: dict[str, object] = {"status": status, "customer_id_hashed": customer}
    if version is not None:
        changes["version"] = version
    made, copied = evolve(s, changes), s.model_copy(update=changes)
    assert made == copied
    assert made.model_fields_set == copied.model_fields_set
    assert made.to_json_bytes() == copied.to_json_bytes()
    assert (s.status, s.version) == (SessionStatus.IDLE, 0)  # the original is untouched


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
