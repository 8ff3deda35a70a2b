"""Fixtures shared by every tier. The real stack starts once per test session; each test that
needs isolation gets its own database (cloned from a migrated template) and its own topics
(a uuid prefix), so tests never see each other's rows or records."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from processor.devstack.resolve import Endpoints, provision
from processor.kafka_security import KafkaSecurity
from processor.migrate import migrate
from processor.settings import Settings
from processor.topics import Catalog
from processor.topics import apply as apply_topics

# One template per test run (by pid): two runs on one stack (developers in parallel, CI beside a
# developer) must not drop each other's template.
TEMPLATE_DB = f"chatstate_test_template_{os.getpid()}"


def _with_db(url: str, db: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"


@pytest.fixture(scope="session")
def stack() -> Iterator[Endpoints]:
    """The real Kafka and PostgreSQL: named by env vars, else Docker, else the local stack."""
    with provision(Settings()) as ep:
        print(f"\n[chatstate tests] servers from {ep.source}: kafka {ep.kafka_bootstrap}")
        asyncio.run(_prepare_template(ep.database_url))
        yield ep
        asyncio.run(_drop_template(ep.database_url))


async def _drop_template(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
    finally:
        await conn.close()


async def _prepare_template(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            TEMPLATE_DB,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    await migrate(_with_db(url, TEMPLATE_DB))


@dataclass(frozen=True)
class StackSlice:
    """One test's private slice of the real stack."""

    kafka_bootstrap: str
    database_url: str = field(repr=False)  # carries the password: never in test output
    topic_prefix: str
    catalog: Catalog
    # TLS/SASL for test clients (KAFKA_SECURITY_PROTOCOL & co. when the servers are named).
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)

    def settings(self, **overrides: object) -> Settings:
        return Settings(
            kafka_bootstrap_servers=self.kafka_bootstrap,
            database_url=self.database_url,
            topic_prefix=self.topic_prefix,
            **overrides,  # type: ignore[arg-type]
        )

    def topic(self, logical: str) -> str:
        return self.catalog.name(logical)


@pytest.fixture
async def fresh_db(stack: Endpoints) -> AsyncIterator[str]:
    """A migrated database of this test's own, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    yield _with_db(stack.database_url, name)
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def env(stack: Endpoints, fresh_db: str) -> AsyncIterator[StackSlice]:
    """Fresh database + every topic of topics.yaml under a uuid prefix, deleted afterwards
    (a broker that keeps thousands of test topics starts slowly)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    settings = Settings()
    catalog = Catalog.load(settings.topics_file, prefix)
    await apply_topics(catalog, stack.kafka_bootstrap, stack.kafka_security)
    yield StackSlice(stack.kafka_bootstrap, fresh_db, prefix, catalog, stack.kafka_security)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=stack.kafka_bootstrap, **stack.kafka_security.client_options()
    )
    await admin.start()
    try:
        await admin.delete_topics([s.name for s in catalog.topics.values()])
    except Exception:  # noqa: S110 - cleanup is best effort; the test's verdict stands
        pass
    finally:
        await admin.close()
