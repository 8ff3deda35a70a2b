"""An agent's batch is retried until it succeeds: an exception escaping an agent would skip
events it never acked."""

from __future__ import annotations

import asyncio

import pytest

from processor.worker import app as worker_app
from processor.worker.app import until_done


async def test_a_failing_batch_is_retried_until_it_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_app.asyncio, "sleep", _no_sleep)
    attempts: list[int] = []

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("database went away mid-batch")

    await until_done(flaky, "stage 2")
    assert len(attempts) == 3


async def test_cancellation_is_not_retried() -> None:
    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await until_done(cancelled, "stage 1")


async def _no_sleep(_seconds: float) -> None:
    return None
