"""The API's database store under load: requests that wait for a connection get one in the
order they asked, so a busy pool costs every request a little, never one request a lot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from processor.api.context_store import PgContextStore
from processor.db import create_pool, keep_session_state
from tests.integration.api.support import StackSlice, customer_hash

pytestmark = pytest.mark.integration


async def test_a_request_waiting_for_a_connection_is_not_overtaken_by_a_later_one(
    env: StackSlice,
) -> None:
    pool = await create_pool(env.database_url, min_size=1, max_size=1, reset=keep_session_state)
    store = PgContextStore(pool)
    customer = customer_hash("fairness")
    issued = await store.issue(customer, datetime.now(UTC), timedelta(hours=1))
    served: list[str] = []

    async def read(name: str) -> None:
        await store.session_for(issued.persistent_session_id, customer)
        served.append(name)

    try:
        busy = await pool.acquire()  # the only connection, as a slow request would hold it
        earlier = asyncio.create_task(read("earlier"))
        await asyncio.sleep(0.05)  # the earlier request is now waiting for a connection
        releasing = asyncio.create_task(pool.release(busy))
        await asyncio.sleep(0)  # the release is under way: the connection is back next turn
        # The later request asks in that same turn, just before the earlier one is woken: the
        # moment a pool that serves whoever asks next lets it jump the queue.
        later = asyncio.create_task(read("later"))
        await asyncio.gather(releasing, earlier, later)
    finally:
        await pool.close()
    assert served == ["earlier", "later"]
