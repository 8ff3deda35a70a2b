"""Alerts on-call can live with (processor/core/alert_status.py): the end of a condition is the
same condition resolved, and every alert type has its runbook section."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from processor.core.alert_status import cap_resolutions, expiry_spike, resolved
from processor.core.lifecycle import alert
from processor.settings import project_root
from schemas.alerts import Alert, AlertStatus, AlertType, Severity

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_a_resolution_names_the_same_condition_with_its_own_id_and_log_key() -> None:
    conversation = uuid.uuid4()
    firing = alert(AlertType.ORPHANED_CONVERSATION, Severity.WARNING, "x",
                   f"orphaned_conversation:{conversation}", NOW, conversation_id=conversation)
    end = resolved(AlertType.ORPHANED_CONVERSATION, firing.dedup_key, NOW, "a snapshot arrived",
                   conversation_id=conversation)
    assert end.status is AlertStatus.RESOLVED
    assert end.dedup_key == firing.dedup_key
    assert end.severity is Severity.INFO
    assert end.id != firing.id
    assert end.log_key == f"{firing.dedup_key}#resolved"
    assert firing.log_key == firing.dedup_key
    assert end.runbook == firing.runbook
    assert end.id == resolved(AlertType.ORPHANED_CONVERSATION, firing.dedup_key, NOW, "x").id


def test_a_version_1_alert_without_status_reads_as_firing() -> None:
    a = alert(AlertType.SESSION_EXPIRED, Severity.INFO, "x", "session_expired:k", NOW)
    body = a.model_dump(mode="json", by_alias=True)
    del body["status"]
    body["schemaVersion"] = 1
    assert Alert.model_validate(body).status is AlertStatus.FIRING


@given(st.integers(0, 10_000), st.integers(1, 5_000))
def test_an_expiry_spike_is_one_alert_exactly_above_the_threshold(count: int, threshold: int
                                                                   ) -> None:
    spike = expiry_spike(count, threshold, NOW)
    assert len(spike) == (1 if count > threshold else 0)


def test_every_alert_type_has_its_runbook_section() -> None:
    runbook = (project_root() / "docs" / "runbook.md").read_text()
    anchors = set(re.findall(r"^## (\S+)$", runbook, flags=re.MULTILINE))
    for kind in AlertType:
        assert kind.value.replace("_", "-") in anchors, kind


def _ended(kind: AlertType, n: int) -> list[Alert]:
    prefix = kind.value
    return [resolved(kind, f"{prefix}:{uuid.uuid4()}", NOW, "over", conversation_id=uuid.uuid4())
            for _ in range(n)]


def test_resolutions_are_capped_per_type_and_round_with_one_resolved_summary() -> None:
    orphans = _ended(AlertType.ORPHANED_CONVERSATION, 3)
    unmapped = _ended(AlertType.UNMAPPED_CONVERSATION, 25)
    told, covered = cap_resolutions([*orphans, *unmapped], 20, NOW)
    assert covered == unmapped[20:]
    assert told[:23] == [*orphans, *unmapped[:20]]
    [summary] = told[23:]
    assert summary.status is AlertStatus.RESOLVED
    assert summary.type is AlertType.UNMAPPED_CONVERSATION
    assert summary.details["count"] == 5
    assert len(summary.details["sampleConversationIds"]) == 5
    assert "aggregate" not in summary.dedup_key.split(":")[1:2]  # not a firing aggregate's key


def test_under_the_cap_every_resolution_is_told() -> None:
    ended = _ended(AlertType.ORPHANED_CONVERSATION, 20)
    assert cap_resolutions(ended, 20, NOW) == (ended, [])
