"""The readers' two ways of stopping (processor/core/parse_errors.py): a ``Reject`` is a verdict
that reaches the dead letter with its reason and detail; a ``Malformed`` never is one, it only
hands the record to the wire models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from processor.core.genesys_times import read_time
from processor.core.normalise import parse_genesys
from processor.core.parse_errors import INVALID, Malformed, Reject
from schemas.dlq import DeadLetterReason
from schemas.observation import Accepted, Rejected
from tests.unit.core.genesys_records import customer, queue_event, raw


def test_a_time_only_the_wire_models_read_is_malformed_to_the_reader_yet_accepted() -> None:
    spaced = "2024-05-01 10:00:00Z"  # ISO-8601's space separator: pydantic reads it
    with pytest.raises(Malformed):
        read_time({"connectedTime": spaced}, "connectedTime")
    result = parse_genesys(raw(queue_event(customer(
        messages=[{"state": "connected", "connectedTime": spaced}]))))
    assert isinstance(result, Accepted)
    assert result.observation.started_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_a_reject_reaches_the_verdict_with_its_reason_and_detail() -> None:
    assert INVALID is DeadLetterReason.INVALID_ENVELOPE
    with pytest.raises(Reject) as caught:
        read_time({"endTime": "9999-12-31T23:59:59-01:00"}, "endTime")
    result = parse_genesys(raw(queue_event(customer(
        messages=[{"state": "disconnected", "disconnectedTime": "9999-12-31T23:59:59-01:00"}]))))
    assert isinstance(result, Rejected)
    assert result.reason is caught.value.reason
    assert "out of range" in result.detail
