"""Filling gaps from the REST API: the conversations of the watched queues that were active in
a gap (analytics details query over the gap, widened by ``lookback`` because a messaging
conversation can start hours before it changes), each fetched whole and produced in the same
envelope shape the notifications have (``v2.routing.queues.{id}.conversations``), marked with
headers:

- ``chatstate-backfill``: the gap's id;
- ``chatstate-fetched-at``: when the state was read (ISO-8601 UTC).

Why produced as a notification: stage 1 needs nothing new. Why order cannot hurt: the
lifecycle only moves a conversation forward (an ended conversation stays ended, a field once
known is kept), so a state fetched before a live event and produced after it cannot set the
conversation back; the fetch time is there for consumers that compare states themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from processor.bridge.forwarder import Forwarder
from processor.bridge.gaps import Gap, GapLog
from processor.genesys import GenesysApi, GenesysError, GenesysHTTPError

__all__ = ["BACKFILL_HEADER", "FETCHED_AT_HEADER", "Backfiller", "as_envelope"]

log = structlog.get_logger("chatstate.bridge")
BACKFILL_HEADER = "chatstate-backfill"
FETCHED_AT_HEADER = "chatstate-fetched-at"


def as_envelope(conversation: dict[str, Any], fallback_queue: str | None) -> dict[str, Any]:
    """A fetched conversation as the plain queue topic would have carried it."""
    queue = next(
        (p["queueId"] for p in conversation.get("participants") or [] if p.get("queueId")),
        fallback_queue,
    )
    return {
        "topicName": f"v2.routing.queues.{queue}.conversations",
        "version": "2",
        "eventBody": conversation,
        "metadata": {"CorrelationId": str(uuid.uuid4())},
    }


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class Backfiller:
    def __init__(
        self,
        api: GenesysApi,
        gaps: GapLog,
        forwarder: Forwarder,
        queues: Callable[[], list[str]],
        lookback: timedelta = timedelta(hours=24),
        retry_s: float = 15.0,
    ) -> None:
        self._api, self._gaps, self._fwd = api, gaps, forwarder
        self._queues, self._lookback, self._retry = queues, lookback, retry_s
        self.wake = asyncio.Event()
        self.filled = 0  # gaps
        self.conversations = 0

    async def run(self) -> None:
        while True:
            self.wake.clear()
            for gap in await self._gaps.owed():
                try:
                    n = await self.fill(gap)
                except GenesysError as exc:
                    log.warning("bridge.backfill_failed", gap=gap.id, error=str(exc))
                    break  # retried on the next round; the gap stays owed
                await self._gaps.done(gap.id, n)
                self.filled += 1
                self.conversations += n
                log.info(
                    "bridge.backfilled",
                    gap=gap.id,
                    reason=gap.reason,
                    conversations=n,
                    seconds=round((gap.ended_at - gap.started_at).total_seconds(), 1),
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self._retry)

    async def fill(self, gap: Gap) -> int:
        queues = self._queues()
        if not queues:
            return 0
        rows = await self._api.conversations_in(
            gap.started_at - self._lookback, gap.ended_at, queues
        )
        acks: list[asyncio.Future[None]] = []
        for row in rows:
            end = _time(row.get("conversationEnd"))
            if end is not None and end < gap.started_at:
                continue  # over before the gap began: nothing was missed
            try:
                conv = await self._api.conversation(str(row["conversationId"]))
            except GenesysHTTPError as exc:
                if exc.status == 404:
                    continue  # gone (deleted, or beyond retention)
                raise
            fetched = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            headers = [
                (BACKFILL_HEADER, str(gap.id).encode()),
                (FETCHED_AT_HEADER, fetched.encode()),
            ]
            acked = await self._fwd.put(as_envelope(conv, queues[0]), headers, track=True)
            if isinstance(acked, asyncio.Future):
                acks.append(acked)
        await asyncio.gather(*acks)  # the gap is filled once Kafka holds every state
        return len(acks)
