"""Simulated Genesys traffic: deterministic sessions for a seed, the records that carry them,
and the outcome chatstate must reach for each (``chatstate simulate``, the benchmark and the
fault suite all use it)."""

from processor.sim.expected import expected_session, expected_summary
from processor.sim.plan import ConversationPlan, SessionPlan, SnapshotPlan, Topic
from processor.sim.produce import ProduceStats, SentRecord, produce, write_ndjson
from processor.sim.scenarios import SimConfig, SimRecord, Simulation

__all__ = [
    "ConversationPlan",
    "ProduceStats",
    "SentRecord",
    "SessionPlan",
    "SimConfig",
    "SimRecord",
    "Simulation",
    "SnapshotPlan",
    "Topic",
    "expected_session",
    "expected_summary",
    "produce",
    "write_ndjson",
]
