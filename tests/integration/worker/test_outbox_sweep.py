"""The outbox sweep against the real broker and database: rows a crashed worker committed and
produced but never forgot are forgotten without a second send, rows it never produced are sent,
each record ends on its topic once; when the bounded read gives up, the sweep falls back to
sending (at-least-once) and still forgets every row."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiokafka.errors import TopicAuthorizationFailedError

from processor.runbook_links import absolute_alert_records
from processor.worker import sweep
from processor.worker.outbox import OutboxRecord
from processor.worker.runtime import Runtime
from tests.conftest import StackSlice
from tests.integration.worker.harness import read_topic

pytestmark = [pytest.mark.integration]


@pytest.fixture
async def rt(env: StackSlice) -> AsyncIterator[Runtime]:
    # A base URL: alerts' runbook links change at publishing, so their bytes on the topic
    # differ from the row's (they are found by id).
    settings = env.settings(
        app_id=f"w-{uuid.uuid4().hex[:6]}", runbook_base_url="https://runbooks.example/"
    )
    runtime = Runtime(settings, env.kafka_bootstrap, env.database_url)
    await runtime.start()
    yield runtime
    await runtime.stop()


def state(psid: str, version: int) -> bytes:
    return json.dumps({"id": f"{psid}:{version}", "persistentSessionId": psid}).encode()


def alert(subject: str, n: int) -> bytes:
    return json.dumps({"id": f"alert-{subject}-{n}", "runbook": "docs/runbook.md#x"}).encode()


async def left_behind(
    rt: Runtime, rows: list[tuple[str, bytes, bytes | None]]
) -> list[OutboxRecord]:
    """Committed outbox rows as a crashed worker leaves them: 30 s old (the sweeper takes rows
    over 10 s)."""
    out = []
    for topic, key, value in rows:
        r = await rt.pool.fetchrow(
            "INSERT INTO outbox (topic, key, value, created_at) "
            "VALUES ($1, $2, $3, clock_timestamp() - interval '30 seconds') "
            "RETURNING outbox_id, created_at",
            topic,
            key,
            value,
        )
        assert r is not None
        out.append(OutboxRecord(r["outbox_id"], topic, key, value, r["created_at"]))
    return out


async def on_topics(env: StackSlice) -> Counter[tuple[str, bytes, str | bytes | None]]:
    """Every record of the three outbox topics, counted by (topic, key, identity)."""
    seen: Counter[tuple[str, bytes, str | bytes | None]] = Counter()
    for logical in ("chat.sessions", "chat.alerts", "chat.agent-context"):
        for r in await read_topic(env, logical):
            seen[logical, r.key, sweep.identity(r.key, r.value)[1]] += 1
    return seen


def crash_rows(env: StackSlice) -> list[tuple[str, bytes, bytes | None]]:
    sessions, alerts = env.topic("chat.sessions"), env.topic("chat.alerts")
    context = env.topic("chat.agent-context")
    rows: list[tuple[str, bytes, bytes | None]] = []
    for i in range(12):
        psid = str(uuid.uuid4())
        rows += [(sessions, psid.encode(), state(psid, 1)), (alerts, psid.encode(), alert(psid, i))]
    rows += [
        (sessions, b"erased-session", None),  # a tombstone: no id, found by key and bytes
        (context, b"conv-1", b'{"conversationId":"conv-1","media":"chat"}'),  # no id either
    ]
    return rows


async def test_the_sweep_sends_each_left_behind_record_once_and_forgets_every_row(
    env: StackSlice, rt: Runtime
) -> None:
    # Other traffic on the same partitions, before and after the crash: read past, not matched.
    await rt.publisher.produce(
        [
            OutboxRecord(0, env.topic("chat.sessions"), b"other", state("other", n))
            for n in range(50)
        ]
    )
    records = await left_behind(rt, crash_rows(env))
    # The crash window: a third of them (states, alerts, the tombstone) and the write-back were
    # acknowledged by the broker, never forgotten; the others were never produced.
    produced = [r for i, r in enumerate(records) if i % 3 == 0 or i == len(records) - 1]
    links = rt.settings.runbook_base_url
    await rt.publisher.produce(absolute_alert_records(produced, links, env.topic("chat.alerts")))
    await rt.publisher.produce(
        [OutboxRecord(0, env.topic("chat.sessions"), b"other", state("other", 99))]
    )

    assert await rt.sweep_outbox() == len(records)

    assert await rt.pool.fetchval("SELECT count(*) FROM outbox") == 0
    seen = await on_topics(env)
    for r in records:
        logical = r.topic.removeprefix(env.topic_prefix)
        assert r.key is not None
        assert seen[logical, r.key, sweep.identity(r.key, r.value)[1]] == 1, r


async def test_when_the_read_bound_is_hit_the_sweep_resends_and_forgets_everything(
    env: StackSlice, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = env.topic("chat.sessions")
    psid = str(uuid.uuid4())
    # Earlier records of the same session fill the start of the read.
    await rt.publisher.produce(
        [OutboxRecord(0, sessions, psid.encode(), state(psid, v)) for v in (1, 2, 3)]
    )
    sent, unsent = await left_behind(
        rt, [(sessions, psid.encode(), state(psid, 4)), (sessions, psid.encode(), state(psid, 5))]
    )
    await rt.publisher.produce([sent])  # the crash window
    monkeypatch.setattr(sweep, "BOUNDS", sweep.Bounds(max_records=1))

    verdict = await sweep.on_kafka(
        [sent, unsent], rt.producer, rt.kafka_bootstrap, rt.kafka_security
    )
    assert verdict.unsure == [sent, unsent], "one record read: neither ruled in or out"

    await rt.sweep_outbox()

    assert await rt.pool.fetchval("SELECT count(*) FROM outbox") == 0
    versions = Counter(json.loads(r.value)["id"] for r in await read_topic(env, "chat.sessions"))
    assert versions[f"{psid}:5"] == 1, "never sent: sent once"
    assert versions[f"{psid}:4"] == 2, "the fallback is at-least-once: sent again"


async def test_when_the_topics_cannot_be_read_but_the_broker_answers_the_sweep_resends(
    env: StackSlice, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read the broker refuses (a consumer ACL the worker lacks, say): re-sending is harmless,
    # leaving the rows unsent for ever is not.
    async def refused(*_: object, **__: object) -> sweep.Verdict:
        raise TopicAuthorizationFailedError()

    monkeypatch.setattr(sweep, "on_kafka", refused)
    [row] = await left_behind(rt, [(env.topic("chat.alerts"), b"k", alert("k", 1))])

    await rt.sweep_outbox()

    assert await rt.pool.fetchval("SELECT count(*) FROM outbox") == 0
    [sent] = await read_topic(env, "chat.alerts")
    assert sweep.identity(sent.key, sent.value) == sweep.identity(row.key, row.value)
