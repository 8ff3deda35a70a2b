"""A record can never stop the stream: how failures are classified, and how a batch that fails
for one record's sake is split until that record is alone (the rest applied, in order)."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Sequence

import asyncpg
import pytest
from aiokafka import errors as kafka_errors

from processor.errors import OutputTooLarge
from processor.worker import failures
from processor.worker.failures import (
    Classified,
    FailureKind,
    StillFailing,
    Stopping,
    classify,
    isolate,
)
from schemas.dlq import DeadLetterReason


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_seconds: float, stopping: object) -> None:
        await asyncio.sleep(0)  # yields, as a real pause does

    monkeypatch.setattr(failures, "pause", instant)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        OSError(errno.ECONNRESET, "reset"),
        asyncpg.CannotConnectNowError(),
        asyncpg.AdminShutdownError(),
        kafka_errors.KafkaConnectionError(),
        kafka_errors.NotLeaderForPartitionError(),
        kafka_errors.KafkaTimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_unreachable_server_is_transient(exc: BaseException) -> None:
    assert classify(exc).kind is FailureKind.TRANSIENT


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (asyncpg.DataError(), DeadLetterReason.STORAGE_REJECTED),
        (asyncpg.UntranslatableCharacterError(), DeadLetterReason.STORAGE_REJECTED),
        (asyncpg.CheckViolationError(), DeadLetterReason.STORAGE_REJECTED),
        (asyncpg.ProgramLimitExceededError(), DeadLetterReason.STORAGE_REJECTED),
        (kafka_errors.MessageSizeTooLargeError(), DeadLetterReason.OUTPUT_TOO_LARGE),
        (OutputTooLarge("chat.sessions", 2_000_000, 900_000), DeadLetterReason.OUTPUT_TOO_LARGE),
        (ValueError("bad"), DeadLetterReason.LIFECYCLE_ERROR),
        (RecursionError(), DeadLetterReason.LIFECYCLE_ERROR),
        # datetime.fromtimestamp(1e20) raises OSError(EOVERFLOW): the data's fault, not a network's
        (OSError(errno.EOVERFLOW, "Value too large"), DeadLetterReason.UNEXPECTED_ERROR),
    ],
    ids=lambda v: type(v).__name__,
)
def test_what_one_record_causes_is_classified_with_its_reason(
    exc: BaseException, reason: DeadLetterReason
) -> None:
    c = classify(exc)
    assert c.kind is not FailureKind.TRANSIENT
    assert c.reason is reason


def test_an_unclassified_exception_is_unknown_and_a_write_that_kept_failing_too() -> None:
    class Weird(Exception):
        pass

    assert classify(Weird()).kind is FailureKind.UNKNOWN
    still = classify(StillFailing(TimeoutError()))
    assert (still.kind, still.reason) == (FailureKind.UNKNOWN, DeadLetterReason.UNEXPECTED_ERROR)


def test_a_reason_never_quotes_the_exception_message() -> None:
    c = classify(ValueError("card 4111 1111 1111 1111 in field x"))
    assert "4111" not in c.detail


class Stream:
    """A stand-in for one stage: records it applied, in order, and those it dead-lettered."""

    def __init__(self, bad: set[int], error: BaseException, *, healthy: bool = True) -> None:
        self.bad, self.error, self.is_healthy = bad, error, healthy
        self.applied: list[int] = []
        self.dead: list[tuple[int, DeadLetterReason]] = []
        self.runs = 0

    async def run(self, chunk: Sequence[int]) -> None:
        self.runs += 1
        if self.bad.intersection(chunk):
            raise self.error
        self.applied.extend(chunk)

    async def dead_letter(self, record: int, why: Classified) -> None:
        self.dead.append((record, why.reason))

    async def healthy(self) -> bool:
        return self.is_healthy


async def _isolate(s: Stream, records: list[int], stopping: bool = False) -> None:
    await isolate(records, s.run, s.dead_letter, s.healthy, lambda: stopping, stage="test")


async def test_one_bad_record_is_dead_lettered_alone_and_the_rest_applied_in_order() -> None:
    s = Stream({37}, asyncpg.DataError())
    await _isolate(s, list(range(100)))
    assert s.dead == [(37, DeadLetterReason.STORAGE_REJECTED)]
    assert s.applied == [r for r in range(100) if r != 37]


async def test_several_bad_records_are_each_found() -> None:
    s = Stream({0, 50, 99}, kafka_errors.MessageSizeTooLargeError())
    await _isolate(s, list(range(100)))
    assert [r for r, _ in s.dead] == [0, 50, 99]
    assert {why for _, why in s.dead} == {DeadLetterReason.OUTPUT_TOO_LARGE}
    assert s.applied == [r for r in range(100) if r not in (0, 50, 99)]


async def test_an_unknown_error_is_retried_a_bounded_number_of_times_then_dead_lettered() -> None:
    class Weird(Exception):
        pass

    s = Stream({3}, Weird())
    await _isolate(s, list(range(8)))
    assert s.dead == [(3, DeadLetterReason.UNEXPECTED_ERROR)]
    assert s.applied == [0, 1, 2, 4, 5, 6, 7]
    assert s.runs < 20  # bounded: no retry storm


async def test_a_transient_error_while_the_servers_are_down_never_dead_letters() -> None:
    s = Stream({1}, ConnectionRefusedError(), healthy=False)
    task = asyncio.create_task(_isolate(s, [0, 1, 2]))
    for _ in range(200):  # keeps waiting: every retry finds the servers down
        await asyncio.sleep(0)
    assert not task.done()
    assert s.dead == []
    s.bad.clear()  # the server is back
    s.is_healthy = True
    await asyncio.wait_for(task, 1)
    assert s.applied == [0, 1, 2]
    assert s.dead == []


async def test_a_shutdown_ends_the_wait_and_leaves_the_batch_unapplied() -> None:
    s = Stream({1}, ConnectionRefusedError(), healthy=False)
    with pytest.raises(Stopping):
        await _isolate(s, [0, 1, 2], stopping=True)
    assert s.applied == []
    assert s.dead == []


async def test_cancellation_is_never_swallowed() -> None:
    s = Stream({0}, asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await _isolate(s, [0])
    assert s.dead == []


@pytest.mark.parametrize(
    ("exc", "away"),
    [
        (asyncpg.CannotConnectNowError(), True),
        (StillFailing(TimeoutError()), True),
        (OSError(errno.EOVERFLOW, "any OSError"), True),
        (ValueError("a scan bug"), False),
    ],
    ids=lambda v: type(v).__name__,
)
def test_a_scan_round_is_skipped_quietly_only_when_a_server_is_away(
    exc: BaseException, away: bool
) -> None:
    assert failures.server_away(exc) is away
