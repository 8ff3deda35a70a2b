from __future__ import annotations

from collections.abc import Iterator

import pytest

from processor.emulator import EmulatorServer, Org


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    """A fresh emulated org per test: heartbeats every second, Genesys's rate limit raised so
    only the tests that mean to meet it do."""
    with EmulatorServer(Org(heartbeat_s=1.0, rate_per_min=100_000)) as server:
        yield server
