"""The reporting contract (issue 17, item 6; docs/reporting.md) on the real PostgreSQL: the
views answer from the tables, the read-only role reads the views and nothing else, and the
role's creation never fails a migration — not where the migrating user may not create roles,
not when several databases of one cluster migrate."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from processor.migrate import available
from tests.conftest import StackSlice

pytestmark = pytest.mark.integration

ROLE = "chatstate_reporting"


def _as(url: str, user: str, password: str, db: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}:{parts.port}" if parts.port else f"{user}:{password}@{host}"
    path = f"/{db}" if db else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


@pytest.fixture
async def admin(env: StackSlice) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(env.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def test_the_views_answer_from_the_tables(admin: asyncpg.Connection) -> None:
    psid, old_psid, old, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    t = datetime.now(UTC) - timedelta(days=4)
    for p, status in ((old_psid, "expired"), (psid, "active")):
        await admin.execute(
            "INSERT INTO sessions (persistent_session_id, status, version, customer_id_hashed,"
            " latest_snapshot, created_at, updated_at) VALUES ($1, $2, 1, $3, $4, $5, $5)",
            p, status, "ab" * 32, '{"intent": "billing", "stepsCompleted": 3}', t)
    await admin.execute(
        "INSERT INTO session_conversations (conversation_id, persistent_session_id, state,"
        " started_at, ended_at, first_seen_at, updated_at) VALUES ($1, $2, 'ended', $3, $4,"
        " $3, $4)", old, old_psid, t, t + timedelta(minutes=7))
    await admin.execute(
        "INSERT INTO session_conversations (conversation_id, persistent_session_id, state,"
        " started_at, resumed_from_conversation_id, first_seen_at, updated_at)"
        " VALUES ($1, $2, 'live', $3, $4, $3, $3)", new, psid, t + timedelta(days=3), old)
    row = await admin.fetchrow("SELECT * FROM reporting.sessions WHERE persistent_session_id=$1",
                               psid)
    assert row["latest_intent"] == "billing"
    assert row["latest_steps_completed"] == 3
    conv = await admin.fetchrow(
        "SELECT * FROM reporting.conversations WHERE conversation_id = $1", old)
    assert conv["duration"] == timedelta(minutes=7)
    assert conv["customer_id_hashed"] == "ab" * 32
    back = await admin.fetchrow("SELECT * FROM reporting.resumptions")
    assert back["conversation_id"] == new
    assert back["resumed_from_session_id"] == old_psid
    assert back["away_for"] == timedelta(days=3, minutes=-7)


async def test_the_reporting_role_reads_the_views_and_nothing_else(
    env: StackSlice, admin: asyncpg.Connection
) -> None:
    user, password = f"reader_{secrets.token_hex(4)}", secrets.token_hex(12)
    await admin.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE {ROLE}")
    try:
        reader = await asyncpg.connect(_as(env.database_url, user, password))
        try:
            assert await reader.fetchval("SELECT count(*) FROM reporting.sessions") == 0
            assert await reader.fetchval("SELECT count(*) FROM reporting.erasures") == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await reader.fetch("SELECT * FROM sessions")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await reader.execute("DELETE FROM reporting.sessions")
        finally:
            await reader.close()
    finally:
        await admin.execute(f"DROP ROLE {user}")


def _reporting_sql(role: str) -> str:
    [m] = [m for m in available() if m.name == "reporting"]
    return m.sql.replace(ROLE, role)


async def _database(admin: asyncpg.Connection, owner: str | None = None) -> str:
    name = f"t_rep_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"' + (f" OWNER {owner}" if owner else ""))
    return name


async def _with_tables(url: str, sql: str) -> None:
    """The reporting migration's SQL on a database holding the tables it reads (as a
    migration runs it: one transaction)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for m in available():
                if m.name != "reporting":
                    await conn.execute(m.sql)
            await conn.execute(sql)
    finally:
        await conn.close()


async def test_a_migrating_user_who_may_not_create_roles_still_migrates(
    env: StackSlice, admin: asyncpg.Connection
) -> None:
    role = f"cs_reporting_{secrets.token_hex(4)}"  # never created: the privilege is missing
    user, password = f"migrator_{secrets.token_hex(4)}", secrets.token_hex(12)
    await admin.execute(f"CREATE ROLE {user} LOGIN NOCREATEROLE PASSWORD '{password}'")
    db = await _database(admin, owner=user)
    try:
        await _with_tables(_as(env.database_url, user, password, db), _reporting_sql(role))
        assert await admin.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1",
                                    role) == 0
    finally:
        await admin.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        await admin.execute(f"DROP ROLE {user}")


async def test_several_databases_of_one_cluster_migrate_at_once_and_share_the_role(
    env: StackSlice, admin: asyncpg.Connection
) -> None:
    role = f"cs_reporting_{secrets.token_hex(4)}"
    dbs = [await _database(admin) for _ in range(3)]
    try:
        await asyncio.gather(*(_with_tables(_as_db(env.database_url, db), _reporting_sql(role))
                               for db in dbs))
        for db in dbs:  # each database granted the role its views
            conn = await asyncpg.connect(_as_db(env.database_url, db))
            try:
                assert await conn.fetchval(
                    "SELECT has_table_privilege($1, 'reporting.sessions', 'SELECT')", role)
                assert not await conn.fetchval(
                    "SELECT has_table_privilege($1, 'sessions', 'SELECT')", role)
            finally:
                await conn.close()
        again = dbs[0]  # and once more on a database that has it all: nothing fails
        conn = await asyncpg.connect(_as_db(env.database_url, again))
        try:
            await conn.execute(_reporting_sql(role))
        finally:
            await conn.close()
    finally:
        for db in dbs:
            await admin.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        await admin.execute(f"DROP ROLE IF EXISTS {role}")


def _as_db(url: str, db: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"
