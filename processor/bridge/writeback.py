"""Telling the agent: ``chat.agent-context`` requests (written by the worker when a returning
customer's new conversation starts) become participant-attribute PATCHes on Genesys.

Never blocking: each request gets ``attempts`` tries (the client itself already retries 429s
and 5xx), then an alert (``writeback_failed``) and the next request; offsets are committed
after each batch either way. A request that is not valid JSON is alerted the same way. The
stream of the worker never waits on any of this: it only produced the request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from processor.core.lifecycle import alert
from processor.core.writeback import WritebackRequest
from processor.genesys import GenesysApi, GenesysError
from processor.genesys.exceptions import GenesysHTTPError
from schemas.alerts import AlertType, Severity

__all__ = ["WritebackConsumer"]

log = structlog.get_logger("chatstate.bridge")


class WritebackConsumer:
    def __init__(
        self,
        api: GenesysApi,
        consumer: AIOKafkaConsumer,
        producer: Callable[[], AIOKafkaProducer],
        alerts_topic: str,
        attempts: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self._api, self._consumer, self._make = api, consumer, producer
        self._alerts, self._attempts, self._backoff = alerts_topic, attempts, backoff_s
        self._producer: AIOKafkaProducer | None = None
        self.applied = 0
        self.failed = 0

    async def run(self) -> None:
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=100)
                for records in batches.values():
                    for r in records:
                        await self._one(r.value or b"")
                if batches:
                    await self._consumer.commit()
        finally:
            await self._consumer.stop()
            if self._producer is not None:
                await self._producer.stop()

    async def _one(self, raw: bytes) -> None:
        try:
            req = WritebackRequest.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError):
            await self._alert(None, "a write-back request could not be read", "unreadable")
            return
        for attempt in range(self._attempts):
            try:
                await self._api.set_participant_attributes(
                    req.media, str(req.conversation_id), req.participant_id, req.attributes
                )
                self.applied += 1
                return
            except GenesysHTTPError as exc:
                if 400 <= exc.status < 500 and exc.status != 429:  # 429: the client waited, in vain
                    # The conversation or participant is gone, or the request is refused: a
                    # retry cannot change that. One line, one alert.
                    log.warning("bridge.writeback_refused", conversation=str(req.conversation_id),
                                status=exc.status)
                    await self._alert(req, "Genesys refused to tell the agent the session's "
                                      f"context ({exc.status})", f"refused_{exc.status}")
                    self.failed += 1  # counted once alerted: whoever sees it sees the alert
                    return
                await self._retry_pause(req, attempt, exc)
            except GenesysError as exc:
                await self._retry_pause(req, attempt, exc)
        await self._alert(req, "the agent could not be told the session's context", "failed")
        self.failed += 1

    async def _retry_pause(self, req: WritebackRequest, attempt: int, exc: Exception) -> None:
        log.warning(
            "bridge.writeback_retry",
            conversation=str(req.conversation_id),
            attempt=attempt + 1,
            error=str(exc),
        )
        await asyncio.sleep(self._backoff * 2**attempt)

    async def _alert(self, req: WritebackRequest | None, summary: str, why: str) -> None:
        now = datetime.now(UTC)
        subject = str(req.conversation_id) if req else now.isoformat()
        a = alert(
            AlertType.WRITEBACK_FAILED,
            Severity.WARNING,
            summary,
            f"writeback_failed:{subject}",
            now,
            persistent_session_id=req.persistent_session_id if req else None,
            conversation_id=req.conversation_id if req else None,
            details={"reason": why},
        )
        try:
            if self._producer is None:
                self._producer = self._make()
                await self._producer.start()
            await self._producer.send_and_wait(
                self._alerts, a.model_dump_json(by_alias=True).encode(), key=a.subject.encode()
            )
        except Exception as exc:
            log.error("bridge.writeback_alert_failed", error=type(exc).__name__, summary=summary)
