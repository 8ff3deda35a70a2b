"""The bridge process: wired once, from settings (DESIGN.md: servers come from settings).

Order of work: take the lease (a second bridge waits here as a standby) -> learn from when the
previous bridge was last alive (that window is a gap) -> find the watched queues -> channels,
forwarding, backfill, write-back and the ops endpoints run together until stopped. Losing the
lease (its PostgreSQL connection) stops the bridge with an error: a restarted one waits its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import CollectorRegistry, Gauge

from processor.bridge.backfill import Backfiller
from processor.bridge.channels import ChannelManager
from processor.bridge.forwarder import Forwarder
from processor.bridge.gaps import GapLog, Lease
from processor.bridge.topics import queue_topics, takes_chat
from processor.bridge.writeback import WritebackConsumer
from processor.db import create_pool
from processor.errors import ChatstateError, ConfigError
from processor.genesys import (
    GenesysApi,
    GenesysClient,
    GenesysError,
    RequestBudget,
    TokenSource,
    base_urls,
)
from processor.kafka_security import KafkaSecurity
from processor.ops_server import ReadyReport, serve_ops
from processor.producer import make_producer
from processor.settings import Settings
from processor.topics import Catalog

__all__ = ["Bridge", "LeaseLost"]

log = structlog.get_logger("chatstate.bridge")


class LeaseLost(ChatstateError):
    """The PostgreSQL connection holding the bridge's lease broke: another bridge may take over."""


@dataclass
class Bridge:
    settings: Settings
    kafka_bootstrap: str
    kafka_security: KafkaSecurity
    database_url: str = field(repr=False)
    name: str = "default"
    alive_every_s: float = 2.0
    writeback_backoff_s: float = 1.0  # first wait between write-back attempts (doubles)
    queues: list[str] = field(default_factory=list)
    active: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        s = self.settings
        if not s.genesys_client_id or s.genesys_client_secret is None:
            raise ConfigError(
                "set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (an OAuth client "
                "with the Client Credentials grant; README, the bridge)"
            )
        self.urls = base_urls(s.genesys_region, s.genesys_api_base_url, s.genesys_login_base_url)
        self.catalog = Catalog.load(s.topics_file, s.topic_prefix)
        self.manager: ChannelManager | None = None
        self.forwarder: Forwarder | None = None
        self.backfiller: Backfiller | None = None
        self.client: GenesysClient | None = None
        self.writeback: WritebackConsumer | None = None

    def _producer(self, **kw: Any) -> AIOKafkaProducer:
        return make_producer(
            self.kafka_bootstrap,
            self.kafka_security,
            client_id="chatstate-bridge",
            max_request_size=self.settings.max_record_bytes + 100_000,
            **kw,
        )

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        lease = Lease(self.database_url, self.name, s.bridge_lease_retry_s)
        log.info("bridge.waiting_for_lease", name=self.name)
        waiting = asyncio.create_task(lease.acquire())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({waiting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
            await lease.release()
            return
        stopped.cancel()
        log.info("bridge.active", name=self.name)
        self.active.set()
        pool = await create_pool(self.database_url, min_size=1, max_size=3)
        http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        assert s.genesys_client_id
        assert s.genesys_client_secret
        tokens = TokenSource(http, self.urls.login, s.genesys_client_id, s.genesys_client_secret)
        self.client = GenesysClient(
            http, self.urls.api, tokens, RequestBudget(s.genesys_rate_per_min)
        )
        api = GenesysApi(self.client)
        gaps = GapLog(pool, self.name)
        fwd = self.forwarder = Forwarder(
            self._producer,
            self.catalog.name("genesys.conversations"),
            s.bridge_buffer,
            write_timeout_s=s.kafka_write_timeout_s,
        )
        backfill = self.backfiller = Backfiller(
            api, gaps, fwd, lambda: list(self.queues), s.bridge_backfill_lookback
        )

        async def on_gap(start: datetime, end: datetime, reason: str) -> None:
            gap_id = await gaps.record(start, end, reason)
            log.warning(
                "bridge.gap",
                gap=gap_id,
                reason=reason,
                seconds=round((end - start).total_seconds(), 1),
            )
            backfill.wake.set()

        manager = self.manager = ChannelManager(
            api,
            fwd.put,
            on_gap,
            silence_s=s.bridge_heartbeat_timeout_s,
            max_age=s.bridge_channel_max_age,
            tokens=tokens,
        )
        last = await gaps.last_alive()
        while True:  # Genesys unreachable at start: keep trying (the gap since `last` grows)
            try:
                await self._discover(api)
                break
            except GenesysError as exc:
                log.warning("bridge.queue_discovery_failed", error=str(exc))
                await asyncio.sleep(5.0)
        ops = await serve_ops(
            s.bridge_http_host,
            s.bridge_http_port,
            ready=self._ready,
            registry=self._registry(),
            setting="CHATSTATE_BRIDGE_HTTP_PORT",
        )
        writeback = self.writeback = self._writeback(api)
        tasks = [
            asyncio.create_task(fwd.run(), name="forwarder"),
            asyncio.create_task(manager.run(last, "restart"), name="channels"),
            asyncio.create_task(backfill.run(), name="backfill"),
            asyncio.create_task(self._keep_alive(lease, gaps), name="alive"),
            asyncio.create_task(self._rediscover(api), name="queues"),
            asyncio.create_task(writeback.run(), name="writeback"),
            asyncio.create_task(stop.wait(), name="stop"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t.get_name() != "stop" and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        finally:
            await fwd.drain(10.0)
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
            if ops is not None:
                await ops.close()
            await http.aclose()
            await pool.close()
            await lease.release()

    def _writeback(self, api: GenesysApi) -> WritebackConsumer:
        consumer = AIOKafkaConsumer(
            self.catalog.name("chat.agent-context"),
            bootstrap_servers=self.kafka_bootstrap,
            group_id=f"{self.settings.app_id}-bridge-writeback",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self.kafka_security.client_options(),
        )
        return WritebackConsumer(
            api,
            consumer,
            self._producer,
            self.catalog.name("chat.alerts"),
            backoff_s=self.writeback_backoff_s,
        )

    async def _discover(self, api: GenesysApi) -> None:
        fixed = self.settings.genesys_queues
        found = fixed or sorted(q["id"] for q in await api.queues() if takes_chat(q))
        if found != self.queues:
            log.info("bridge.queues", count=len(found), discovered=not fixed)
            self.queues = found
            if self.manager is not None:
                self.manager.set_topics(queue_topics(found))

    async def _rediscover(self, api: GenesysApi) -> None:
        if self.settings.genesys_queues:
            await asyncio.Event().wait()  # fixed list: nothing to rediscover
        while True:
            await asyncio.sleep(self.settings.bridge_queue_refresh_s)
            with contextlib.suppress(GenesysError):
                await self._discover(api)

    async def _keep_alive(self, lease: Lease, gaps: GapLog) -> None:
        while True:
            if not await lease.check():
                raise LeaseLost("lost the bridge lease (its PostgreSQL connection broke)")
            if self.manager is not None and self.manager.connected.is_set():
                await gaps.alive(datetime.now(UTC))
            await asyncio.sleep(self.alive_every_s)

    async def _ready(self) -> ReadyReport:
        fwd, man = self.forwarder, self.manager
        return ReadyReport(
            {
                "lease": "ok",
                "kafka": ReadyReport.check(fwd is not None and fwd.kafka_ok, "not acknowledging"),
                "genesys": ReadyReport.check(
                    man is not None and man.connected.is_set(), "no channel connected"
                ),
            }
        )

    def _registry(self) -> CollectorRegistry:
        reg = CollectorRegistry()

        def gauge(name: str, doc: str, fn: Awaitable[float] | object) -> None:
            Gauge(name, doc, registry=reg).set_function(fn)  # type: ignore[arg-type]

        gauge(
            "chatstate_bridge_forwarded_total",
            "notifications acknowledged by Kafka",
            lambda: self.forwarder.stats.forwarded if self.forwarder else 0,
        )
        gauge(
            "chatstate_bridge_backfilled_total",
            "backfilled states acknowledged by Kafka",
            lambda: self.forwarder.stats.backfilled if self.forwarder else 0,
        )
        gauge(
            "chatstate_bridge_buffered",
            "notifications waiting for Kafka",
            lambda: self.forwarder.pending if self.forwarder else 0,
        )
        gauge(
            "chatstate_bridge_reconnects_total",
            "sockets lost and replaced (gaps)",
            lambda: self.manager.reconnects if self.manager else 0,
        )
        gauge(
            "chatstate_bridge_replacements_total",
            "channels replaced make-before-break",
            lambda: self.manager.replacements if self.manager else 0,
        )
        gauge(
            "chatstate_bridge_genesys_429_total",
            "429 answers from Genesys",
            lambda: self.client.counts["429"] if self.client else 0,
        )
        return reg
