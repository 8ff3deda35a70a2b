"""Genesys timestamps (processor/core/genesys_times.py): always aware UTC, only the forms
Genesys writes read here, the rest left to the wire models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from processor.core.genesys_times import read_time
from processor.core.parse_errors import Malformed, Reject
from schemas.dlq import DeadLetterReason
from tests.unit.core.genesys_records import (
    customer,
    observe,
    queue_event,
)


def test_times_are_utc_even_when_a_capture_has_offsets_or_none() -> None:
    obs = observe(queue_event(customer(messages=[{
        "state": "connected", "connectedTime": "2024-05-01T12:00:00.000+02:00"}])))
    assert obs.started_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert obs.started_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    obs = observe(queue_event(customer(messages=[{
        "state": "connected", "connectedTime": "2024-05-01T10:00:00"}])))
    assert obs.started_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_a_time_is_read_once_and_the_same_text_gives_the_same_datetime() -> None:
    first = read_time({"t": "2024-05-01T10:00:00.123Z"}, "t")
    again = read_time({"t": "2024-05-01T10:00:00.123Z"}, "t")
    assert first == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert again is first, "the cache hands back the parsed value"
    assert read_time({}, "t") is None
    assert read_time({"t": None}, "t") is None


@pytest.mark.parametrize("text", ["2024-W18-3", "2024-05-01T10:00:00,5Z", "yesterday", "20240501"])
def test_forms_genesys_does_not_write_are_left_to_the_wire_models(text: str) -> None:
    with pytest.raises(Malformed):
        read_time({"t": text}, "t")
    with pytest.raises(Malformed):
        read_time({"t": 1714557600}, "t")


def test_a_time_past_the_last_utc_datetime_is_a_rejection_naming_the_field() -> None:
    with pytest.raises(Reject) as caught:
        read_time({"endTime": "9999-12-31T23:59:59-01:00"}, "endTime")
    assert caught.value.reason is DeadLetterReason.INVALID_ENVELOPE
    assert caught.value.detail == "endTime is out of range"
