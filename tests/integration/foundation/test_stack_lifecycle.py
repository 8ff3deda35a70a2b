"""The local stack comes up and goes down cleanly, twice in a row, and leaves no process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from processor.devstack.process import is_ours
from processor.devstack.stack import LocalStack
from processor.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_second_stack_comes_up_and_down_twice_leaving_no_process(tmp_path: Path) -> None:
    # A stack of its own (own state dir and ports) so the session's shared stack is untouched.
    state = Path(f"/tmp/chatstate-lifecycle-{os.getpid()}")  # noqa: S108 - see default_state_dir
    shutil.rmtree(state, ignore_errors=True)
    settings = Settings(state_dir=state, kafka_heap="384m")
    stack = LocalStack(settings)
    try:
        for _round in range(2):
            status, _took = stack.up()
            assert status.up, "both servers answer after up()"
            pids = (status.kafka_pid, status.postgres_pid)
            again, _ = stack.up()
            assert (again.kafka_pid, again.postgres_pid) == pids, "up() is idempotent"
            assert sorted(stack.down()) == ["kafka", "postgres"]
            after = stack.status()
            assert not after.kafka_running
            assert not after.postgres_running
            assert not is_ours(pids[0], str(stack.kafka.props))
            assert not is_ours(pids[1], str(stack.postgres.data))
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)
