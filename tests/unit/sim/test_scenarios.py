"""The simulator's promises: deterministic for a seed, every record shaped as its contract says
(checked against our schemas and, for Genesys wire names, the official SDK's models), malformed
records at the configured share and nowhere else."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from processor.sim import SimConfig, Simulation, Topic
from processor.sim.produce import stamp_snapshot
from schemas.commands import SessionCommand
from schemas.snapshot import SnapshotIn

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _records(seed: int, sessions: int = 60, **kw: Any) -> list[tuple[str, str | None, bytes]]:
    sim = Simulation(SimConfig(seed=seed, start=START, sessions=sessions, **kw))
    return [(r.topic.value, r.key, r.value) for r in sim.records()]


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    assert _records(11) == _records(11)
    assert _records(11) != _records(12)


def test_target_events_sizes_the_run() -> None:
    sim = Simulation(SimConfig(start=START, sessions=None, target_events=2000))
    n = sum(1 for _ in sim.records())
    assert 2000 <= n < 2100  # whole sessions only: it stops after the one that crosses
    assert sum(sim.counts.values()) == n


def test_every_snapshot_passes_the_contract_and_keys_match() -> None:
    sim = Simulation(SimConfig(start=START, sessions=300))
    seen = 0
    for r in sim.records():
        if r.kind == "snapshot":
            snap = SnapshotIn.model_validate_json(r.value)
            assert str(snap.persistent_session_id) == r.key
            assert snap.customer_id_hashed is not None
            seen += 1
        elif r.kind == "command":
            cmd = SessionCommand.model_validate_json(r.value)
            assert str(cmd.persistent_session_id) == r.key
    assert seen > 300


def test_stamped_snapshot_still_passes_the_contract() -> None:
    sim = Simulation(SimConfig(start=START, sessions=5))
    rec = next(r for r in sim.records() if r.kind == "snapshot")
    snap = SnapshotIn.model_validate_json(stamp_snapshot(rec.value, 1_767_261_600_000_000_000))
    assert snap.state_snapshot.model_extra == {
        **(snap.state_snapshot.model_extra or {}),
        "benchSentAt": 1_767_261_600_000_000_000,
    }


def _envelope(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["detail"] if "detail" in doc and "topicName" not in doc else doc


def test_genesys_records_are_envelopes_keyed_by_conversation() -> None:
    sim = Simulation(SimConfig(start=START, sessions=300))
    topics: Counter[str] = Counter()
    for r in sim.records():
        if r.kind not in ("genesys", "heartbeat"):
            continue
        env = _envelope(json.loads(r.value))
        assert env["metadata"]["CorrelationId"]
        name = env["topicName"]
        if r.kind == "heartbeat":
            assert name == "channel.metadata"
            continue
        assert env["version"] == "2"
        body = env["eventBody"]
        conv = body.get("id") or body.get("conversationId")
        assert conv == r.key
        if name.startswith("v2.detail.events.conversation."):
            topics[name.rsplit(".", 2)[-2] + "." + name.rsplit(".", 1)[-1]] += 1
            assert isinstance(body["eventTime"], int)
            assert body["eventTime"] > 1_700_000_000_000
        else:
            topics[name.split(".conversations", 1)[1] or "plain"] += 1
            customer = next(p for p in body["participants"] if p["purpose"] == "customer")
            attrs = customer["attributes"]
            psid = attrs.get("persistentSessionId") or attrs.get("context.persistentSessionId")
            assert psid
    for expected in (".messages", ".chats", "plain", "customer.start", "customer.end",
                     "acd.start", "acd.end", "user.start", "user.end"):
        assert topics[expected] > 0, expected


@pytest.mark.parametrize("share", [0.0, 0.05])
def test_malformed_share_is_as_configured(share: float) -> None:
    sim = Simulation(SimConfig(start=START, sessions=400, malformed_share=share))
    records = list(sim.records())
    malformed = [r for r in records if r.kind == "malformed"]
    base = len(records) - len(malformed) - sim.counts.get("heartbeat", 0)
    assert len(malformed) == pytest.approx(share * base, abs=3 * (share * base) ** 0.5 + 1)
    for r in malformed:
        try:
            doc = json.loads(r.value)
        except ValueError:
            continue  # truncated JSON
        if r.topic is Topic.SNAPSHOTS:
            with pytest.raises(ValidationError):
                SnapshotIn.model_validate(doc)
        elif isinstance(doc, dict):
            body = _envelope(doc).get("eventBody") or {}
            assert not (body.get("id"))
            assert not (body.get("conversationId"))


def test_eventbridge_wrapped_share() -> None:
    sim = Simulation(SimConfig(start=START, sessions=200, eventbridge_share=0.2))
    wrapped = total = 0
    for r in sim.records():
        if r.kind == "genesys":
            total += 1
            doc = json.loads(r.value)
            if "detail" in doc:
                wrapped += 1
                assert doc["detail-type"] == doc["detail"]["topicName"]
    assert 0.15 < wrapped / total < 0.25


def test_scenario_mix_covers_every_story() -> None:
    sim = Simulation(SimConfig(start=START, sessions=400))
    records = list(sim.records())
    kinds = Counter(p.kind for p in sim.plans)
    assert set(kinds) == {"messaging", "legacy", "transfer", "returning", "two_tabs", "orphan"}
    assert any(p.closed for p in sim.plans)
    assert any(c.legacy for p in sim.plans for c in p.conversations)
    assert any(c.transfers for p in sim.plans for c in p.conversations)
    assert all(not c.data_action and not c.ends for p in sim.plans if p.kind == "orphan"
               for c in p.conversations)
    pii = [r for r in records if r.kind == "snapshot" and b"lastCustomerMessage" in r.value]
    assert pii
    # Returns come minutes or days later, but always inside the 72 h TTL.
    for p in sim.plans:
        for prev, nxt in zip(p.conversations, p.conversations[1:], strict=False):
            if p.kind == "returning":
                assert prev.end is not None
                assert 0 < (nxt.start - prev.end).total_seconds() < 72 * 3600
