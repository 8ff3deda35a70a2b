"""The expected outcome the simulator writes follows the lifecycle rules: feed its records, in
order, through the pure pieces of the pipeline (stage 1's normaliser, the snapshot guard,
``decide``) and every session ends as ``expected_session`` says. No Kafka, no database: this
checks the *expectation*, so an integration test can trust it."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

from processor.core import normalise
from processor.core.lifecycle import LifecyclePolicy, decide
from processor.core.snapshots import guard_snapshot
from processor.sim import SimConfig, Simulation, expected_session
from schemas.commands import ApplySnapshot, ObserveConversation, SessionCommand, SessionUpdate
from schemas.observation import Accepted
from schemas.session import SessionState
from schemas.snapshot import SnapshotIn

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _replay(sim: Simulation) -> tuple[dict[uuid.UUID, SessionState], dict[uuid.UUID, list[str]]]:
    """The pipeline's pure parts, in emission order (a single partition's view)."""
    sessions: dict[uuid.UUID, SessionState] = {}
    known: dict[uuid.UUID, set[str]] = {}
    alerts: dict[uuid.UUID, list[str]] = {}
    mapping: dict[uuid.UUID, uuid.UUID] = {}
    offsets = itertools.count()
    policy = LifecyclePolicy()
    received = START
    for rec in sim.records():
        received += timedelta(milliseconds=10)
        cmd = None
        if rec.kind in ("genesys", "heartbeat", "malformed") and rec.topic.value.startswith("g"):
            result = normalise.parse_genesys(rec.value)
            if rec.kind != "genesys":
                assert not isinstance(result, Accepted)
                continue
            assert isinstance(result, Accepted), result
            obs = result.observation
            if obs.persistent_session_id:
                mapping[obs.conversation_id] = obs.persistent_session_id
            psid = mapping[obs.conversation_id]  # the first event of a conversation carries it
            cmd = ObserveConversation(observation=obs)
        elif rec.kind == "snapshot":
            guarded = guard_snapshot(SnapshotIn.model_validate_json(rec.value))
            psid = guarded.snapshot.persistent_session_id
            cmd = ApplySnapshot(snapshot=guarded.snapshot, content_id=guarded.content_id,
                                pii_findings=guarded.findings)
        elif rec.kind == "command":
            sc = SessionCommand.model_validate_json(rec.value)
            psid, cmd = sc.persistent_session_id, sc.command
        else:
            continue
        update = SessionUpdate(persistent_session_id=psid, source_id=f"sim:0:{next(offsets)}",
                               received_at=received, command=cmd)
        d = decide(sessions.get(psid), update, policy,
                   known_snapshots=frozenset(known.get(psid, ())))
        assert d.session is not None
        sessions[psid] = d.session
        if d.snapshot is not None:
            known.setdefault(psid, set()).add(d.snapshot.source_id)
        alerts.setdefault(psid, []).extend(a.dedup_key for a in d.alerts)
    return sessions, alerts


def test_expected_outcome_matches_the_lifecycle() -> None:
    sim = Simulation(SimConfig(seed=3, start=START, sessions=250))
    sessions, alerts = _replay(sim)
    assert len(sessions) == len(sim.plans)
    for plan in sim.plans:
        want = expected_session(plan)
        got = sessions[plan.persistent_session_id]
        assert got.status.value == want["finalStatus"], want["kind"]
        assert {str(c.conversation_id): c.state.value for c in got.conversations} == want[
            "conversations"
        ]
        assert got.customer_id_hashed == want["customerIdHashed"]
        if want["latestSnapshot"] is None:
            assert got.latest_snapshot is None
        else:
            assert got.latest_snapshot is not None
            assert got.latest_snapshot["simId"] == want["latestSnapshot"]["simId"]
            assert got.latest_snapshot["stepsCompleted"] == want["latestSnapshot"][
                "stepsCompleted"
            ]
            assert got.latest_snapshot["intent"] == want["latestSnapshot"]["intent"]
        keys = sorted(set(alerts.get(plan.persistent_session_id, [])))  # as alert_log dedupes
        assert sum(k.startswith("pii_detected:") for k in keys) == want["alerts"]["pii_detected"]
        assert [k for k in keys if k.startswith("concurrent_session:")] == want["alerts"][
            "concurrent_session"
        ]
        assert [k for k in keys if k.startswith("pii_detected:attributes:")] == sorted(
            want["alerts"]["pii_detected_attributes"]
        )


def test_pii_never_reaches_the_latest_snapshot() -> None:
    sim = Simulation(SimConfig(seed=5, start=START, sessions=200, pii_share=0.5))
    sessions, _ = _replay(sim)
    text = json.dumps([s.latest_snapshot for s in sessions.values()])
    assert "4111 1111 1111 1111" not in text
    assert "@example." not in text
    assert "[REDACTED:" in text
