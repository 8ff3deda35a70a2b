"""Write-back: a ``chat.agent-context`` request becomes the participant attributes the agent
sees (recorded by the emulator as Genesys would store them); one Genesys refuses is retried,
then alerted on ``chat.alerts``, and the next request is still applied."""

from __future__ import annotations

import json
import uuid

import pytest

from processor.core.writeback import NOTICE_KEY, SUMMARY_KEY, WritebackRequest
from processor.emulator import EmulatorServer
from processor.producer import make_producer
from schemas.alerts import Alert, AlertType
from tests.conftest import StackSlice
from tests.integration.bridge.harness import feed_done, running_bridge, start_feed, until
from tests.integration.worker.harness import read_topic as read_records

pytestmark = [pytest.mark.integration]


def request_for(emu: EmulatorServer, conversation_id: str, participant_id: str) -> WritebackRequest:
    old = uuid.uuid4()
    return WritebackRequest(
        conversation_id=uuid.UUID(conversation_id),
        participant_id=participant_id,
        media="message",
        persistent_session_id=uuid.uuid4(),
        resumed_from_conversation_id=old,
        attributes={
            NOTICE_KEY: f"Resuming from archived session ID: {old}",
            SUMMARY_KEY: "Last time: intent billing, 3 steps completed.",
        },
    )


async def test_agent_context_reaches_the_customer_participant(
    env: StackSlice, emu: EmulatorServer
) -> None:
    async with running_bridge(env, emu) as bridge:
        await start_feed(emu, sessions=5, rate=0, queues=1)
        await feed_done(emu)
        cid, conv = next(iter(emu.org.conversations.items()))
        customer = next(p for p in conv.body["participants"] if p["purpose"] == "customer")
        good = request_for(emu, cid, customer["id"])
        bad = request_for(emu, str(uuid.uuid4()), "no-such-participant")
        producer = make_producer(env.kafka_bootstrap, env.kafka_security)
        await producer.start()
        try:
            for req in (bad, good):
                await producer.send_and_wait(
                    env.topic("chat.agent-context"),
                    json.dumps(req.to_json()).encode(),
                    key=str(req.conversation_id).encode(),
                )
        finally:
            await producer.stop()
        await until(lambda: len(emu.org.patches) >= 1, 30, "the PATCH")
        assert bridge.writeback is not None
        wb = bridge.writeback
        await until(lambda: wb.failed == 1, 30, "the refused request to be given up")
    patch = emu.org.patches[0]
    assert (patch.media, patch.conversation_id, patch.participant_id) == (
        "message",
        cid,
        customer["id"],
    )
    assert patch.attributes == good.attributes
    stored = emu.org.conversation(cid)
    assert stored is not None
    held = next(p for p in stored["participants"] if p["id"] == customer["id"])["attributes"]
    assert held[NOTICE_KEY].startswith("Resuming from archived session ID: ")
    alerts = await read_alerts(env)
    assert [(a.type, a.conversation_id) for a in alerts] == [
        (AlertType.WRITEBACK_FAILED, bad.conversation_id)
    ]


async def read_alerts(env: StackSlice) -> list[Alert]:
    return [
        Alert.model_validate_json(r.value or b"{}") for r in await read_records(env, "chat.alerts")
    ]
