"""The fault suite's short form, run by ``make test``: simulated traffic streams into this
test's private topics and database while a worker is SIGKILLed and restarted twice and a
second worker joins and leaves (two rebalances). Afterwards the database must equal the pure
state machine replayed over the internal topic — nothing lost, nothing applied twice — every
input record must have been forwarded, the simulator's timing-independent expectations must
hold, and no alert may be raised twice.

It never restarts PostgreSQL or Kafka: other engineers' tests share those servers. The full
suite with server restarts is ``make chaos`` (``chatstate bench chaos --restart-servers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from processor.bench.chaos import ChaosConfig, run_chaos
from processor.bench.space import RunSpace

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(480)]


async def test_kills_and_rebalances_lose_nothing_and_apply_nothing_twice(
    env: Any, tmp_path: Path  # the conftest's private slice of the stack
) -> None:
    space = RunSpace(env.kafka_bootstrap, env.database_url, env.database_url,
                     env.database_url.rpartition("/")[2], env.topic_prefix, env.catalog)
    report = await run_chaos(
        space,
        # Two SIGKILLs (each costs the group's session timeout before the partitions of the dead
        # member move) and a join + graceful leave keep this inside a few minutes.
        ChaosConfig(rate=300.0, kills=2, rebalance=True, second_leaves="stop",
                    restart_servers=False, gap_s=3.0, drain_limit_s=180.0),
        tmp_path,
        say=lambda m: print(m),
    )
    print({k: v for k, v in report.items() if k != "config"})
    assert report["drained"], "the worker did not catch up after the faults"
    assert report["recordsSent"] > 3000
    assert report["internalRecordsApplied"] == report["internalRecords"]
    assert report["lost"] == 0, report["examples"]
    assert report["appliedTwice"] == 0, report["examples"]
    assert report["diverged"] == 0, report["examples"]
    assert report["inputsNotForwarded"] == 0
    assert report["duplicateAlerts"] == 0, report["duplicateAlertKeys"]
    assert report["expectedOutcome"]["mismatches"] == {}
    assert all(f["recoverS"] is not None for f in report["faults"]), report["faults"]
