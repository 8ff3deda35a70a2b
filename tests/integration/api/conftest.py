"""Fixtures for the API tests: an app on this test's private database and topics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from processor.db import init_connection
from tests.integration.api.support import RunningApi, StackSlice, api_settings, running_api


@pytest.fixture
async def api(env: StackSlice) -> AsyncIterator[RunningApi]:
    async with running_api(api_settings(env.settings()), kafka_bootstrap=env.kafka_bootstrap,
                           database_url=env.database_url) as running:
        yield running


@pytest.fixture
async def db(env: StackSlice) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database: to check rows, and to stand in for the worker
    (the API only reads what the processor writes)."""
    conn = await asyncpg.connect(env.database_url)
    await init_connection(conn)  # jsonb in and out as Python objects, as the API's pool does
    try:
        yield conn
    finally:
        await conn.close()
