"""The on-call commands as an operator runs them (the CLI in a subprocess) against the real
servers: ``session show``, ``session list`` (issue 17, item 8), ``alerts tail`` and
``customer erase``. Plain SQL and a producer stand in for the worker here."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from processor.core.lifecycle import alert
from schemas.alerts import AlertType, Severity
from schemas.commands import EraseSession, SessionCommand
from tests.conftest import StackSlice
from tests.integration.worker.harness import CUSTOMER_HASH, Feeder, connect, read_topic

pytestmark = pytest.mark.integration

OTHER = "cd" * 32


async def _cli(env: StackSlice, *args: str) -> tuple[int, str, str]:
    environ = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": env.kafka_bootstrap,
               "DATABASE_URL": env.database_url, "CHATSTATE_TOPIC_PREFIX": env.topic_prefix,
               "CHATSTATE_LOG_FORMAT": "json"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "processor.cli", *args, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _sessions(env: StackSlice) -> list[uuid.UUID]:
    """Three sessions changed one minute apart (newest last), two of CUSTOMER_HASH."""
    made = []
    conn = await connect(env)
    try:
        base = datetime.now(UTC) - timedelta(minutes=10)
        for i, (status, customer) in enumerate(
            [("expired", CUSTOMER_HASH), ("active", OTHER), ("idle", CUSTOMER_HASH)]
        ):
            psid, at = uuid.uuid4(), base + timedelta(minutes=i)
            await conn.execute(
                "INSERT INTO sessions (persistent_session_id, status, version,"
                " customer_id_hashed, latest_snapshot, last_interaction_at, created_at,"
                " updated_at) VALUES ($1, $2, 2, $3, $4, $5, $5, $5)",
                psid, status, customer, {"intent": "billing", "stepsCompleted": i}, at)
            await conn.execute(
                "INSERT INTO session_conversations (conversation_id, persistent_session_id,"
                " state, first_seen_at, updated_at) VALUES ($1, $2, 'ended', $3, $3)",
                uuid.uuid4(), psid, at)
            made.append(psid)
    finally:
        await conn.close()
    return made


async def test_session_list_shows_recent_sessions_newest_first_and_filters(
    env: StackSlice,
) -> None:
    expired, active, idle = await _sessions(env)
    code, out, _ = await _cli(env, "session", "list")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[2] for line in lines] == [str(idle), str(active), str(expired)]
    assert "customer=abababababab " in lines[0]  # the hash, cut short
    assert CUSTOMER_HASH not in out

    code, out, _ = await _cli(env, "session", "list", "--status", "expired", "--json")
    assert code == 0
    [only] = [json.loads(line) for line in out.splitlines()]
    assert only["persistentSessionId"] == str(expired)
    assert only["conversationCount"] == 1

    code, out, _ = await _cli(env, "session", "list", "--customer", CUSTOMER_HASH, "--json",
                              "--limit", "1")
    assert [json.loads(line)["persistentSessionId"] for line in out.splitlines()] == [str(idle)]

    code, _, err = await _cli(env, "session", "list", "--status", "sleeping")
    assert code != 0
    assert "active" in err


async def test_session_show_prints_the_session_its_conversations_and_snapshot(
    env: StackSlice,
) -> None:
    _, active, _ = await _sessions(env)
    code, out, _ = await _cli(env, "session", "show", str(active))
    assert code == 0
    shown = json.loads(out)
    assert shown["persistentSessionId"] == str(active)
    assert shown["status"] == "active"
    assert shown["latestSnapshot"] == {"intent": "billing", "stepsCompleted": 1}
    assert len(shown["conversations"]) == 1
    missing, _, err = await _cli(env, "session", "show", str(uuid.uuid4()))
    assert missing == 1
    assert "no session" in err


async def test_alerts_tail_prints_alerts_readable_and_as_json(env: StackSlice) -> None:
    psid = uuid.uuid4()
    a = alert(AlertType.SESSION_EXPIRED, Severity.INFO, "session expired after its TTL",
              f"session_expired:{psid}", datetime.now(UTC), persistent_session_id=psid)
    async with Feeder(env) as feed:
        await feed.raw("chat.alerts", a.subject, a.to_json_bytes())
    code, out, _ = await _cli(env, "alerts", "tail", "--from-beginning", "--limit", "1")
    assert code == 0
    assert "INFO" in out
    assert "session_expired" in out
    assert f"session={psid}" in out
    assert "docs/runbook.md#session-expired" in out
    code, out, _ = await _cli(env, "alerts", "tail", "--from-beginning", "--limit", "1",
                              "--json")
    told = json.loads(out)
    assert told["dedupKey"] == a.dedup_key
    assert told["status"] == "firing"


async def test_customer_erase_records_who_asked_and_sends_a_command_per_session(
    env: StackSlice,
) -> None:
    expired, _, idle = await _sessions(env)
    code, out, err = await _cli(env, "customer", "erase", CUSTOMER_HASH)
    assert code == 0, err
    audit = json.loads(out)
    assert audit["status"] == "pending"  # the worker carries it out (tests/e2e/flow)
    assert audit["sessions"] == 2
    assert audit["requestedBy"] == f"cli:{getpass.getuser()}"
    commands = [SessionCommand.model_validate_json(r.value)
                for r in await read_topic(env, "chat.session-commands")]
    assert {c.persistent_session_id for c in commands} == {expired, idle}
    assert all(isinstance(c.command, EraseSession) for c in commands)
    code, _, err = await _cli(env, "customer", "erase", "jane@example.com")
    assert code != 0
    assert "jane" not in err
