"""A private slice of the running stack for one benchmark or fault run: a uuid topic prefix
with every topic of ``topics.yaml`` and a freshly migrated database, so runs never mix with
each other, with tests or with a developer's data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import asyncpg

from processor.kafka_security import KafkaSecurity
from processor.migrate import migrate
from processor.settings import Settings
from processor.topics import Catalog
from processor.topics import apply as apply_topics

__all__ = ["RunSpace", "create_space", "drop_space", "with_db"]


def with_db(url: str, db: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"


@dataclass(frozen=True)
class RunSpace:
    kafka_bootstrap: str
    admin_url: str = field(repr=False)  # the server's own database, for CREATE/DROP DATABASE
    database_url: str = field(repr=False)
    database: str
    prefix: str
    catalog: Catalog
    security: KafkaSecurity = field(default_factory=KafkaSecurity)  # TLS/SASL of every client

    def topic(self, logical: str) -> str:
        return self.catalog.name(logical)


async def create_space(
    kafka_bootstrap: str, admin_url: str, label: str = "bench", *, security: KafkaSecurity
) -> RunSpace:
    token = uuid.uuid4().hex[:10]
    prefix = f"{label}{token}."
    database = f"{label}_{token}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    url = with_db(admin_url, database)
    await migrate(url)
    catalog = Catalog.load(Settings().topics_file, prefix)
    await apply_topics(catalog, kafka_bootstrap, security)
    return RunSpace(kafka_bootstrap, admin_url, url, database, prefix, catalog, security)


async def drop_space(space: RunSpace) -> None:
    """Topics and database go; the results folder keeps the figures."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=space.kafka_bootstrap, **space.security.client_options()
    )
    await admin.start()
    try:
        await admin.delete_topics([s.name for s in space.catalog.topics.values()])
    finally:
        await admin.close()
    conn = await asyncpg.connect(space.admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{space.database}" WITH (FORCE)')
    finally:
        await conn.close()
