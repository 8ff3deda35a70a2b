"""The fuzz suite on the real servers: hostile records on every input of the worker, interleaved
with ordinary ones on the same partitions, never stop the stream and never leak PII.

One run checks everything and reports every broken promise at once (with the seed, so a failure
can be reproduced): the ordinary records are applied within 60 s of the last produce; each
hostile record is dead-lettered with a reason of ``DeadLetterReason`` or applied harmlessly; the
worker's group reaches the end of every input and stage 2 applies every internal record; the
worker obeys SIGTERM within 10 s; no planted PII value is found in PostgreSQL (every table),
``chat.sessions``, ``chat.alerts``, ``chat.dlq``, the internal topic or the worker's log.

Short form in ``make test``; ``make fuzz`` runs more records and seeds. Knobs (env vars):
``CHATSTATE_FUZZ_SEED`` (first seed), ``CHATSTATE_FUZZ_SEEDS`` (how many), ``..._RECORDS``
(hostile records per seed), ``..._SESSIONS`` (ordinary sessions), ``..._BIG_SESSION``
(conversations of the oversized session), ``..._CLASSES`` (comma-separated class names of
``hostile.CLASSES`` plus ``big_session``, to narrow a failure down)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from processor.worker.stage1 import stage1_group
from schemas.dlq import DeadLetterInfo
from tests.conftest import StackSlice
from tests.integration.worker import hostile
from tests.integration.worker.harness import Feeder, Worker, connect, internal_progress, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_ENV = os.environ.get
SEED = int(_ENV("CHATSTATE_FUZZ_SEED", "20261202"))
SEEDS = int(_ENV("CHATSTATE_FUZZ_SEEDS", "1"))
RECORDS = int(_ENV("CHATSTATE_FUZZ_RECORDS", "150"))
SESSIONS = int(_ENV("CHATSTATE_FUZZ_SESSIONS", "30"))
BIG = int(_ENV("CHATSTATE_FUZZ_BIG_SESSION", "3200"))
ONLY = {c.strip() for c in _ENV("CHATSTATE_FUZZ_CLASSES", "").split(",") if c.strip()} or None
INPUTS = (hostile.CONV, hostile.SNAP, hostile.CMD)
OUTPUTS = ("chat.sessions", "chat.alerts", "chat.dlq", "chatstate.session-updates")
_SOURCE_ID = re.compile(rb'"sourceId"\s*:\s*"([^"]+)"')

Placed = tuple[hostile.Rec, str]  # the record and its source id (topic:partition:offset)


async def produce(env: StackSlice, records: list[hostile.Rec]) -> list[Placed]:
    async with Feeder(env) as feed:
        futures = [
            await feed.producer.send(
                env.topic(r.logical), r.value, key=r.key, headers=list(r.headers) or None
            )
            for r in records
        ]
        meta = await asyncio.gather(*futures)
    return [(r, f"{m.topic}:{m.partition}:{m.offset}") for r, m in zip(records, meta, strict=True)]


async def lag(env: StackSlice, app_id: str) -> dict[str, int]:
    """Records not yet processed: per input, its end offsets minus what stage 1's group
    committed; for stage 2, internal records minus what ``consumer_positions`` says is applied.
    (Partitions come from the broker's description of each topic, never from a client's
    metadata cache, which can be empty and make every partition look consumed.)"""
    security = env.kafka_security.client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, **security)
    consumer = AIOKafkaConsumer(bootstrap_servers=env.kafka_bootstrap, **security)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics([env.topic(t) for t in INPUTS])
        parts = [
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        ]
        assert len(parts) >= len(INPUTS), "every input topic has partitions"
        ends = await consumer.end_offsets(parts)
        committed = await admin.list_consumer_group_offsets(stage1_group(app_id))
    finally:
        await consumer.stop()
        await admin.close()
    behind: Counter[str] = Counter()
    for tp in parts:
        done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
        behind[tp.topic.removeprefix(env.topic_prefix)] += max(ends[tp] - done, 0)
    applied, total = await internal_progress(env, app_id)
    behind["stage 2"] = total - applied
    return {k: v for k, v in behind.items() if v}


async def ordinary_missing(env: StackSlice, corpus: hostile.Corpus) -> list[str]:
    """What of the ordinary records is not in PostgreSQL yet (session ids only)."""
    conn = await connect(env)
    try:
        rows = await conn.fetch(
            "SELECT persistent_session_id, latest_snapshot, latest_snapshot_at FROM sessions "
            "WHERE persistent_session_id = ANY($1::uuid[])",
            list(corpus.latest),
        )
        mapped = await conn.fetch(
            "SELECT conversation_id, persistent_session_id FROM session_conversations "
            "WHERE conversation_id = ANY($1::uuid[])",
            list(corpus.ordinary_conversations),
        )
    finally:
        await conn.close()
    got = {r[0]: ((r[1] or {}).get("stepsCompleted"), r[2]) for r in rows}
    missing = [f"snapshot of {p}" for p, want in corpus.latest.items() if got.get(p) != want]
    links = {r[0]: r[1] for r in mapped}
    missing += [
        f"conversation {c}" for c, p in corpus.ordinary_conversations.items() if links.get(c) != p
    ]
    return missing


async def wait_for(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        last = await check()
        if not last or time.monotonic() > deadline:
            return last
        await asyncio.sleep(0.5)


def stop_within(worker: Worker, seconds: float) -> float | None:
    """SIGTERM; the seconds the worker took to exit, or None if it had to be killed."""
    if worker.proc is None or worker.proc.poll() is not None:
        return 0.0
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    try:
        worker.proc.wait(seconds)
        return time.monotonic() - started
    except subprocess.TimeoutExpired:
        worker.kill()
        return None


async def outcomes(
    env: StackSlice, placed: list[Placed], failures: list[str]
) -> tuple[dict[str, str], Counter[str]]:
    """source id -> "dead:<reason>" | "applied"; and the dead letters counted by class:reason."""
    by_source = {sid: rec for rec, sid in placed}
    result: dict[str, str] = {}
    for r in await read_topic(env, "chatstate.session-updates"):
        for m in _SOURCE_ID.finditer(r.value or b""):  # a record is a batch of updates
            result[m.group(1).decode()] = hostile.APPLIED
    conn = await asyncpg.connect(env.database_url)
    try:
        for (obs,) in await conn.fetch("SELECT observations::text FROM unmapped_conversations"):
            for m in _SOURCE_ID.finditer(obs.encode()):
                result.setdefault(m.group(1).decode(), hostile.APPLIED)  # parked
    finally:
        await conn.close()
    counted: Counter[str] = Counter()
    for r in await read_topic(env, "chat.dlq"):
        try:
            info = DeadLetterInfo.from_headers(list(r.headers))
        except (KeyError, ValueError) as exc:
            failures.append(f"a dead letter without a valid reason header ({type(exc).__name__})")
            continue
        sid = f"{info.source_topic}:{info.source_partition}:{info.source_offset}"
        if info.source_topic == env.topic("chatstate.session-updates"):
            hit = _SOURCE_ID.search(r.value or b"")
            sid = hit.group(1).decode() if hit else sid
        result[sid] = f"{hostile.DEAD}:{info.reason.value}"
        rec = by_source.get(sid)
        counted[f"{rec.klass if rec else '?'}:{info.reason.value}@{info.stage.value}"] += 1
    return result, counted


def judge(placed: list[Placed], seen: dict[str, str], failures: list[str]) -> None:
    """Each hostile record had one of the outcomes its class allows (grouped by class, with one
    example source id: topic:partition:offset)."""
    wrong: dict[str, list[str]] = {}
    for rec, sid in placed:
        got = seen.get(sid, hostile.SKIPPED)
        kind, _, reason = got.partition(":")
        if kind not in rec.allowed or (
            kind == hostile.DEAD and rec.reasons and reason not in rec.reasons
        ):
            allowed = sorted(rec.allowed) + sorted(rec.reasons)
            wrong.setdefault(f"{rec.klass} on {rec.logical}: {got} (allowed {allowed})", []).append(
                sid
            )
    failures += [f"{len(s)} x {what}, e.g. {s[0]}" for what, s in sorted(wrong.items())]


async def leaks(env: StackSlice, corpus: hostile.Corpus, log: bytes) -> list[str]:
    """Where planted values are found, grouped by kind, form, record class and place, with one
    example location each; never the value."""
    plants, found = corpus.plants, []
    conn = await asyncpg.connect(env.database_url)  # no codecs: jsonb as its text
    try:
        tables = [
            r[0]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        for table in tables:
            rows = await conn.fetch(f'SELECT * FROM "{table}"')
            text = "|".join(
                "|".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in row.values()
                )
                for row in rows
            )
            found += plants.leaks(f"table {table}", text)
    finally:
        await conn.close()
    for logical in OUTPUTS:
        for r in await read_topic(env, logical):
            at = f"p{r.partition}@{r.offset}"
            headers = "|".join(
                f"{k}={bytes(v or b'').decode('utf-8', 'replace')}" for k, v in r.headers or ()
            )
            found += plants.leaks(f"{logical} key", r.key or b"", at)
            found += plants.leaks(f"{logical} headers", headers, at)
            found += plants.leaks(f"{logical} value", r.value or b"", at)
    if plants.leaks("worker log", log):
        for n, line in enumerate(log.splitlines(), 1):
            found += plants.leaks("worker log", line, f"line {n}")
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for leak in found:
        p = leak.plant
        groups.setdefault((p.kind, p.form, p.klass, leak.place), []).append(leak.at)
    return [
        f"{len(ats)} x {kind}[{form}] planted by {klass} found in {place}"
        + (f" (e.g. {ats[0]})" if ats[0] else "")
        for (kind, form, klass, place), ats in sorted(groups.items())
    ]


def safe_tail(log: Path, corpus: hostile.Corpus, n: int = 25) -> str:
    """The log's last lines, each cut short but with its exception's last line; a line that
    carries a planted value is withheld."""
    out = []
    for line in log.read_bytes().splitlines()[-n:]:
        if corpus.plants.leaks("", line):
            out.append("[line withheld: it carries planted PII]")
            continue
        text = line.decode("utf-8", "replace")
        try:
            exc = str(json.loads(text).get("exception", "")).strip().splitlines()
        except (ValueError, AttributeError):
            exc = []
        out.append(text[:300] + (f" ... {exc[-1][:300]}" if exc else ""))
    return "\n".join(out)


@pytest.mark.parametrize("seed", [SEED + i for i in range(SEEDS)])
async def test_hostile_records_never_stop_the_stream_nor_leak_pii(
    env: StackSlice, tmp_path: Path, seed: int
) -> None:
    corpus = hostile.corpus(
        seed,
        datetime.now(UTC) - timedelta(minutes=30),
        sessions=SESSIONS,
        hostile=RECORDS,
        big=BIG,
        only=ONLY,
    )
    app_id, log = f"w-{uuid.uuid4().hex[:6]}", tmp_path / "worker.log"
    # The planted national phone numbers are British: the guard reads national formats for
    # the configured region only (CHATSTATE_PII_DEFAULT_REGION).
    worker = Worker(env, log, app_id, pii_default_region="GB").start()
    failures: list[str] = []
    try:
        placed = await produce(env, corpus.records)
        missing = await wait_for(lambda: ordinary_missing(env, corpus), 60)
        if missing:
            failures.append(
                f"{len(missing)} ordinary records not applied within 60 s of the "
                f"last produce, e.g. {missing[:3]}"
            )
        # Zero twice, 2 s apart: a rebalance can briefly show every offset committed.
        behind = await wait_for(lambda: lag(env, app_id), 60 if not missing else 5)
        if not behind:
            await asyncio.sleep(2)
            behind = await lag(env, app_id)
        if behind:
            failures.append(f"lag is not zero: {behind}")
        if not worker.alive():
            failures.append(f"the worker exited (code {worker.proc and worker.proc.poll()})")
    finally:
        took = stop_within(worker, 10)
    if took is None:
        failures.append("the worker did not obey SIGTERM within 10 s (killed)")
    hostile_placed = [(r, sid) for r, sid in placed if r.klass != "ordinary"]
    seen, counted = await outcomes(env, placed, failures)
    judge(hostile_placed, seen, failures)
    if corpus.big_conversations:
        conn = await connect(env)
        try:
            kept = await conn.fetchval(
                "SELECT count(*) FROM session_conversations WHERE persistent_session_id = $1",
                corpus.big_session,
            )
        finally:
            await conn.close()
        if kept != corpus.big_conversations:
            failures.append(
                f"the big session keeps {kept} of {corpus.big_conversations} "
                "conversations in its table"
            )
    logged = await asyncio.to_thread(log.read_bytes)
    failures += [f"planted PII: {leak}" for leak in await leaks(env, corpus, logged)]
    print(
        f"\n[fuzz seed {seed}] {len(corpus.ordinary)} ordinary, {len(corpus.hostile)} hostile, "
        f"{len(corpus.plants.planted)} PII values planted; dead letters by class:reason@stage: "
        f"{dict(sorted(counted.items()))}"
    )
    assert not failures, (
        f"seed {seed} (reproduce: CHATSTATE_FUZZ_SEED={seed} CHATSTATE_FUZZ_RECORDS={RECORDS}"
        f" CHATSTATE_FUZZ_SESSIONS={SESSIONS} CHATSTATE_FUZZ_BIG_SESSION={BIG}"
        f"{' CHATSTATE_FUZZ_CLASSES=' + ','.join(sorted(ONLY)) if ONLY else ''}):\n  "
        + "\n  ".join(failures)
        + f"\nworker log tail:\n{safe_tail(log, corpus)}"
    )


def test_the_corpus_is_reproducible_and_covers_every_class_on_every_input() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    a = hostile.corpus(7, start, sessions=3, hostile=60, big=5, only=None)
    b = hostile.corpus(7, start, sessions=3, hostile=60, big=5, only=None)

    def digest(c: hostile.Corpus) -> list[int]:  # hashes: a diff must not print planted PII
        return [hash((r.key, r.value, r.headers)) for r in c.records]

    assert digest(a) == digest(b)
    covered = {(r.klass, r.logical) for r in a.hostile}
    for name in hostile.CLASSES:
        assert any(k.split(":")[0] == name for k, _ in covered), name
    assert {t for _, t in covered} == set(INPUTS)
    assert all(len(r.value) < 1_040_000 for r in a.records), "under the broker's 1 MiB limit"
    assert {p.kind for p in a.plants.planted} == {"card", "ssn", "email", "phone", "iban"}
