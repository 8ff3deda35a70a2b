"""topics apply and db migrate against the real servers."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from processor.devstack.resolve import Endpoints
from processor.migrate import MigrationError, available, migrate
from processor.settings import Settings
from processor.topics import Catalog, apply

pytestmark = pytest.mark.integration


async def test_topics_apply_creates_then_is_idempotent(stack: Endpoints) -> None:
    catalog = Catalog.load(Settings().topics_file, f"t{uuid.uuid4().hex[:8]}.")
    first = await apply(catalog, stack.kafka_bootstrap, stack.kafka_security)
    assert len(first.create) == len(catalog.topics)
    assert first.clean
    second = await apply(catalog, stack.kafka_bootstrap, stack.kafka_security)
    assert second.create == []
    assert second.clean
    assert sorted(second.in_sync) == sorted(s.name for s in catalog.topics.values())


async def test_topics_apply_reports_drift_without_touching_the_topic(stack: Endpoints) -> None:
    catalog = Catalog.load(Settings().topics_file, f"t{uuid.uuid4().hex[:8]}.")
    wrong = catalog.name("chat.sessions")
    admin = AIOKafkaAdminClient(
        bootstrap_servers=stack.kafka_bootstrap, **stack.kafka_security.client_options()
    )
    await admin.start()
    try:
        await admin.create_topics([NewTopic(wrong, 2, 1)])  # wrong partitions, not compacted
        await _until_listed(admin, wrong)
        result = await apply(catalog, stack.kafka_bootstrap, stack.kafka_security)
        assert not result.clean
        assert any(f"{wrong}: partitions 2, declared 6" in d for d in result.drift)
        assert any(f"{wrong}: cleanup.policy=delete, declared compact" in d for d in result.drift)
        described = await admin.describe_topics([wrong])
        assert len(described[0]["partitions"]) == 2, "drift is reported, never repaired"
    finally:
        await admin.close()


async def _until_listed(admin: AIOKafkaAdminClient, topic: str) -> None:
    """A created topic reaches every broker's metadata a moment after CreateTopics returns."""
    async with asyncio.timeout(10):
        while topic not in await admin.list_topics():
            await asyncio.sleep(0.05)


async def test_migrations_apply_once_and_then_change_nothing(fresh_db: str) -> None:
    # fresh_db is a clone of the migrated template: everything is already applied.
    assert await migrate(fresh_db) == []
    conn = await asyncpg.connect(fresh_db)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    finally:
        await conn.close()
    assert versions == [m.version for m in available()]
    assert {"sessions", "session_conversations", "snapshots", "consumer_positions"} <= tables


async def test_migrate_applies_every_file_to_an_empty_database(stack: Endpoints) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = stack.database_url.rpartition("/")[0] + "/" + name
    try:
        applied = await migrate(url)
        assert [m.version for m in applied] == [m.version for m in available()]
        assert await migrate(url) == []
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrate_refuses_a_database_with_unknown_migrations(fresh_db: str) -> None:
    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
        )
    finally:
        await conn.close()
    with pytest.raises(MigrationError, match="does not know: \\[9999\\]"):
        await migrate(fresh_db)
