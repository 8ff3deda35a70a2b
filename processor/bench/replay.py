"""The fault suite's judge: the pure state machine replayed over the internal topic, compared
with what the worker committed.

Every change of a session travels on ``chatstate.session-updates`` (stage 1's output, timers'
commands included), in the order stage 2 must apply it; a record holds an ordered batch of
updates (``schemas/updates.py``), decoded here by the same ``decode`` stage 2 uses. Replaying
``decide`` over that topic, partition by partition, computes what the database must hold if
every update was applied exactly once — whatever crashed, restarted or rebalanced in between.
A session the replay has and the database lacks, or a lower version, is a *lost* update; a
higher version is an update *applied twice*; any other difference is a divergence."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from processor.core.internal_records import decode
from processor.core.lifecycle import LifecyclePolicy, decide
from processor.kafka_security import KafkaSecurity
from schemas.alerts import Alert
from schemas.commands import SessionUpdate
from schemas.session import SessionState

__all__ = [
    "Replay",
    "Verdict",
    "alert_duplicates",
    "compare",
    "read_topic",
    "record_count",
    "replay_updates",
]


async def read_topic(
    bootstrap: str, topic: str, partitions: int, security: KafkaSecurity
) -> list[list[tuple[Any, bytes]]]:
    """Every record of ``topic`` up to its current end, per partition, in offset order."""
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **security.client_options()
    )
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        ends = await c.end_offsets(tps)
        out: list[list[tuple[Any, bytes]]] = [[] for _ in tps]
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batches = await c.getmany(timeout_ms=1000, max_records=5000)
            for tp, msgs in batches.items():
                for m in msgs:
                    if m.offset < ends[tp]:
                        out[tp.partition].append((m.key, m.value or b""))
                if await c.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await c.stop()


@dataclass
class Replay:
    sessions: dict[uuid.UUID, SessionState] = field(default_factory=dict)
    snapshots: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    updates: int = 0
    records: int = 0  # internal records (what stage 2's positions count)
    source_ids: set[str] = field(default_factory=set)
    alert_keys: Counter[str] = field(default_factory=Counter)


def replay_updates(partitions: list[list[tuple[Any, bytes]]], policy: LifecyclePolicy) -> Replay:
    r = Replay(records=record_count(partitions))
    for records in partitions:
        for u in _updates(records):
            r.updates += 1
            r.source_ids.add(u.source_id)
            psid = u.persistent_session_id
            known = r.snapshots.setdefault(psid, set())
            d = decide(r.sessions.get(psid), u, policy, known_snapshots=known)
            if d.session is not None:
                r.sessions[psid] = d.session
            if d.snapshot is not None:
                known.add(d.snapshot.source_id)
            r.alert_keys.update(a.dedup_key for a in d.alerts)
    return r


def _updates(records: list[tuple[Any, bytes]]) -> Iterator[SessionUpdate]:
    for _, value in records:
        for d in decode(value):
            if d.update is None:
                raise ValueError(f"an internal record the oracle cannot read ({d.error})")
            yield d.update


def record_count(partitions: list[list[tuple[Any, bytes]]]) -> int:
    return sum(len(p) for p in partitions)


@dataclass
class Verdict:
    sessions_expected: int = 0
    sessions_in_db: int = 0
    lost: int = 0  # sessions missing, or behind the replay
    applied_twice: int = 0  # sessions ahead of the replay (an update applied again)
    diverged: int = 0  # same version, different content
    examples: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(what)


async def compare(database_url: str, replay: Replay) -> Verdict:
    conn = await asyncpg.connect(database_url)
    try:
        rows = {r["persistent_session_id"]: r for r in await conn.fetch(
            """SELECT persistent_session_id, status, version, current_conversation_id,
                      latest_snapshot_content_id, customer_id_hashed FROM sessions""")}
        convs: dict[uuid.UUID, dict[uuid.UUID, tuple[str, uuid.UUID | None]]] = {}
        for c in await conn.fetch(
            "SELECT persistent_session_id, conversation_id, state, concurrent_with "
            "FROM session_conversations"
        ):
            convs.setdefault(c["persistent_session_id"], {})[c["conversation_id"]] = (
                c["state"], c["concurrent_with"])
        history: dict[uuid.UUID, set[str]] = {}
        for s in await conn.fetch("SELECT persistent_session_id, source_id FROM snapshots"):
            history.setdefault(s["persistent_session_id"], set()).add(s["source_id"])
    finally:
        await conn.close()
    v = Verdict(len(replay.sessions), len(rows))
    for psid, want in replay.sessions.items():
        got = rows.get(psid)
        if got is None:
            v.lost += 1
            v.note(f"{psid}: missing")
            continue
        if got["version"] < want.version:
            v.lost += 1
            v.note(f"{psid}: version {got['version']} < replay {want.version}")
            continue
        if got["version"] > want.version:
            v.applied_twice += 1
            v.note(f"{psid}: version {got['version']} > replay {want.version}")
            continue
        wanted_convs = {c.conversation_id: (c.state.value, c.concurrent_with)
                        for c in want.conversations}
        same = (
            got["status"] == want.status.value
            and got["current_conversation_id"] == want.current_conversation_id
            and got["latest_snapshot_content_id"] == want.latest_snapshot_content_id
            and got["customer_id_hashed"] == want.customer_id_hashed
            and convs.get(psid, {}) == wanted_convs
            and history.get(psid, set()) == replay.snapshots.get(psid, set())
        )
        if not same:
            v.diverged += 1
            v.note(f"{psid}: content differs from the replay at version {want.version}")
    extra = set(rows) - set(replay.sessions)
    if extra:
        v.applied_twice += len(extra)  # rows no update explains
        v.note(f"{len(extra)} sessions in the database that no update explains")
    return v


def alert_duplicates(values: list[bytes]) -> tuple[int, Counter[str]]:
    """(alert records, dedup keys seen more than once with their counts)."""
    keys: Counter[str] = Counter()
    for raw in values:
        keys[Alert.model_validate_json(raw).dedup_key] += 1
    return len(values), Counter({k: n for k, n in keys.items() if n > 1})
