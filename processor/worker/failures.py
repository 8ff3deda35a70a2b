"""What a failed batch means, and how the stream goes on after it.

Every exception a batch raises is one of three kinds (:func:`classify`):

- **transient** — a server is unreachable (connection lost, a timeout, a broker without a
  leader). Retried with backoff, the partition stalls loudly; nothing is dead-lettered while the
  servers do not answer a health probe.
- **record** — something one record causes: content the parser, the lifecycle or PostgreSQL
  refuses, an output too large for the broker. The batch is split until the guilty record is
  found; that record goes to ``chat.dlq`` with a :class:`DeadLetterReason` and the rest is applied.
- **unknown** — nobody classified it. Retried a bounded number of times, and only counted while
  the servers answer the probe (during an outage nothing is dead-lettered); then treated like a
  record failure with reason ``unexpected_error``. A write that keeps timing out while the
  servers are healthy ends the same way (:class:`StillFailing`).

:func:`isolate` carries this out for any batch-shaped operation, so stage 1 and stage 2 share
one policy and a new stage cannot forget it.
"""

from __future__ import annotations

import asyncio
import errno
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

import asyncpg
from aiokafka import errors as kafka_errors
from pydantic import ValidationError

from processor.errors import OutputTooLarge
from processor.logs import get_logger
from schemas.dlq import DeadLetterReason

__all__ = [
    "Classified",
    "FailureKind",
    "StillFailing",
    "Stopping",
    "classify",
    "is_transient",
    "isolate",
    "pause",
    "server_away",
]

R = TypeVar("R")
log = get_logger("chatstate.worker")


class FailureKind(Enum):
    TRANSIENT = "transient"
    RECORD = "record"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classified:
    kind: FailureKind
    reason: DeadLetterReason
    detail: str  # the exception's type and a values-free hint, never its message


class StillFailing(Exception):
    """A retried operation kept failing although the servers answered the health probe."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class Stopping(Exception):
    """The worker is shutting down: leave the batch unacked (it is read again)."""


# Network errnos: an OSError with one of these is a server unreachable; any other OSError
# (EOVERFLOW from a timestamp conversion, say) is about the data.
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
        errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ENOTCONN,
        errno.EADDRNOTAVAIL, errno.ESHUTDOWN,
    }
)

_TRANSIENT_DB: tuple[type[BaseException], ...] = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.QueryCanceledError,  # statement timeout: counted as a timeout, see StillFailing
    # A connection left mid-protocol by a server restart ("cannot switch to state ...").
    asyncpg.InternalClientError,
)
_STORAGE_REJECTED: tuple[type[BaseException], ...] = (
    asyncpg.DataError,  # bad text, \u0000 in jsonb, numbers out of range
    asyncpg.IntegrityConstraintViolationError,  # CHECK, NOT NULL, foreign keys
    asyncpg.ProgramLimitExceededError,  # an index row over btree's limit
)
_OUTPUT_TOO_LARGE: tuple[type[BaseException], ...] = (
    OutputTooLarge,
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
)
# Errors of pure code on one record's content: the parser and lifecycle are meant never to
# raise, so one of these is a bug the record exposed; dead-letter it and go on.
_CONTENT: tuple[type[BaseException], ...] = (
    ValidationError,
    ValueError,  # includes UnicodeError, json.JSONDecodeError
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
    AttributeError,
    ArithmeticError,
)


def is_transient(exc: BaseException) -> bool:
    """A server unreachable or busy: wait for it, never blame the record."""
    if isinstance(exc, (*_TRANSIENT_DB, ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(getattr(exc, "retriable", False)) or isinstance(
            exc,
            kafka_errors.KafkaTimeoutError
            | kafka_errors.NodeNotReadyError
            | kafka_errors.KafkaConnectionError
            | kafka_errors.OutOfOrderSequenceNumber
            | kafka_errors.ProducerClosed
            | kafka_errors.BrokerNotAvailableError
            | kafka_errors.KafkaUnavailableError,
        )
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


def server_away(exc: BaseException) -> bool:
    """For a periodic scan, which skips a round rather than isolate anything: a server away, a
    write that kept failing, or any OSError (the next round tries again either way)."""
    return is_transient(exc) or isinstance(exc, StillFailing | OSError)


def classify(
    exc: BaseException, content_reason: DeadLetterReason = DeadLetterReason.LIFECYCLE_ERROR
) -> Classified:
    """Which kind of failure ``exc`` is, and the dead-letter reason if it comes to that
    (``content_reason`` names the stage's pure code: the parser's or the lifecycle's)."""
    name = type(exc).__name__
    if isinstance(exc, StillFailing):
        return Classified(
            FailureKind.UNKNOWN,
            DeadLetterReason.UNEXPECTED_ERROR,
            f"{type(exc.cause).__name__} kept failing while the servers were healthy",
        )
    if isinstance(exc, _OUTPUT_TOO_LARGE):
        return Classified(FailureKind.RECORD, DeadLetterReason.OUTPUT_TOO_LARGE, name)
    if isinstance(exc, _STORAGE_REJECTED):
        return Classified(FailureKind.RECORD, DeadLetterReason.STORAGE_REJECTED, name)
    if is_transient(exc):
        return Classified(FailureKind.TRANSIENT, DeadLetterReason.UNEXPECTED_ERROR, name)
    if isinstance(exc, _CONTENT) and not isinstance(exc, asyncpg.PostgresError):
        return Classified(FailureKind.RECORD, content_reason, name)
    return Classified(FailureKind.UNKNOWN, DeadLetterReason.UNEXPECTED_ERROR, name)


async def isolate(
    records: Sequence[R],
    run: Callable[[Sequence[R]], Awaitable[object]],
    dead_letter: Callable[[R, Classified], Awaitable[None]],
    healthy: Callable[[], Awaitable[bool]],
    stopping: Callable[[], bool],
    *,
    stage: str,
    content_reason: DeadLetterReason = DeadLetterReason.LIFECYCLE_ERROR,
    attempts: int = 3,
    backoff_s: float = 0.2,
) -> None:
    """Run ``run`` over ``records`` until each record is applied or dead-lettered, in order.

    A batch that fails for a record's reason is halved (first half first, so a session's
    updates keep their order) until the guilty record is alone; it is dead-lettered and its
    neighbours are applied. Re-running part of a batch repeats effects it already had, which
    every stage absorbs (updates are recognised by source id, rows by positions). Transient
    failures while the servers are down wait without limit; ``stopping()`` ends the wait by
    raising :class:`Stopping` (the batch is not acked, so it is read again)."""
    pending: deque[tuple[Sequence[R], int]] = deque([(records, attempts)])
    while pending:
        chunk, budget = pending.popleft()
        tries, delay = 0, backoff_s
        while True:
            if stopping():
                raise Stopping
            try:
                await run(chunk)
                break
            except (asyncio.CancelledError, Stopping):
                raise
            except Exception as exc:
                c = classify(exc, content_reason)
                if c.kind is not FailureKind.RECORD:
                    if not await healthy():
                        log.warning("batch waits for the servers (nothing acked)", stage=stage,
                                    error=c.detail, records=len(chunk), retry_in_s=delay)
                        await pause(delay, stopping)
                        delay = min(delay * 2, 5.0)
                        continue
                    tries += 1
                    if tries < budget and not isinstance(exc, StillFailing):
                        log.warning("batch failed; retrying it", stage=stage, error=c.detail,
                                    attempt=tries, records=len(chunk), exc_info=exc)
                        await pause(delay, stopping)
                        delay = min(delay * 2, 5.0)
                        continue
                if len(chunk) == 1:
                    await dead_letter(chunk[0], c)
                    break
                # Halves already proved a persistent failure once: one try each, except the
                # record left alone, which gets its full budget before it is blamed.
                mid = len(chunk) // 2
                left, right = chunk[:mid], chunk[mid:]
                pending.appendleft((right, attempts if len(right) == 1 else 1))
                pending.appendleft((left, attempts if len(left) == 1 else 1))
                log.info("batch failed for one record's sake; isolating it", stage=stage,
                         error=c.detail, records=len(chunk))
                break


async def pause(seconds: float, stopping: Callable[[], bool]) -> None:
    """Sleep, waking every 0.25 s to honour a shutdown (SIGTERM must win within seconds)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while (left := until - loop.time()) > 0:
        if stopping():
            raise Stopping
        await asyncio.sleep(min(left, 0.25))
