"""A write-back Genesys refuses (the conversation or participant is gone) is not retried: one
line, one alert; a server error is retried."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from processor.bridge.writeback import WritebackConsumer
from processor.core.writeback import WritebackRequest
from processor.genesys.exceptions import GenesysHTTPError

REQUEST = WritebackRequest(
    conversation_id=uuid.uuid4(),
    participant_id="p-1",
    media="message",
    persistent_session_id=uuid.uuid4(),
    resumed_from_conversation_id=uuid.uuid4(),
    attributes={"chatstate.notice": "Resuming from archived session ID: x"},
)


class Api:
    def __init__(self, status: int) -> None:
        self.status, self.calls = status, 0

    async def set_participant_attributes(self, *args: Any) -> None:
        self.calls += 1
        raise GenesysHTTPError("PATCH", "/api/v2/conversations/messages/x", self.status)


class Consumer(WritebackConsumer):
    def __init__(self, api: Api) -> None:
        super().__init__(api, None, lambda: None, "alerts", attempts=3, backoff_s=0.0)  # type: ignore[arg-type]
        self.alerted: list[str] = []

    async def _alert(self, req: object, summary: str, why: str) -> None:
        self.alerted.append(why)


@pytest.mark.parametrize(("status", "calls", "why"), [(404, 1, "refused_404"), (503, 3, "failed")])
async def test_a_refusal_is_not_retried_and_a_server_error_is(
    status: int, calls: int, why: str
) -> None:
    api = Api(status)
    consumer = Consumer(api)
    await consumer._one(REQUEST.record()[1])
    assert api.calls == calls
    assert consumer.alerted == [why]
    assert consumer.failed == 1
