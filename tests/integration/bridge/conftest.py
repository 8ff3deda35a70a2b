from __future__ import annotations

from collections.abc import Iterator

import pytest

from processor.emulator import EmulatorServer, Org, queue_ids


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    """A fresh emulated org per test (three chat/messaging queues): heartbeats every second,
    Genesys's rate limit raised so only the tests that mean to meet it do."""
    org = Org(heartbeat_s=1.0, rate_per_min=100_000)
    for q in queue_ids(3):  # the queues the feed folds traffic onto, known before any bridge
        org.add_queue(q)
    with EmulatorServer(org) as server:
        yield server
