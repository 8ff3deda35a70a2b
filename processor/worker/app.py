"""The Faust app: the stage-2 agent that owns each persistent session, and the leader's timer;
stage 1 (``processor/worker/stage1.py``, a plain aiokafka consumer group; by default in a sibling
process, ``processor/worker/stage1_process.py``) starts with the app and stops before it. Built
by a factory from settings (nothing happens at import); ``chatstate worker`` runs it.

Why ``noack_take`` and manual acks: Faust's ``take``/``take_events`` ack a batch in a
``finally`` — even when the body was cancelled or raised — and Faust commits acked offsets on
rebalance. Acking only after the batch's effects are committed in PostgreSQL is what keeps a
crash from losing records. Agent concurrency stays 1 (higher values commit past unfinished
messages). Each record of the internal topic is a batch of updates (``schemas/updates.py``), so
the agent takes fewer records per transaction than stage 1 reads (``_RECORDS_PER_TAKE``).
"""

from __future__ import annotations

from typing import Any

import faust
from aiokafka.errors import KafkaError

from processor.core.route import COMMANDS, CONVERSATIONS, SNAPSHOTS
from processor.logs import get_logger
from processor.settings import Settings
from processor.worker.failures import Stopping, server_away
from processor.worker.runtime import Runtime
from processor.worker.stage1 import Stage1
from processor.worker.stage1_process import Stage1Process
from processor.worker.timers import run_scans

__all__ = ["create_app", "use_uvloop"]

log = get_logger("chatstate.worker")

# Internal records per stage-2 transaction: each holds the updates of one stage-1 batch for one
# partition (up to ``batch_max``, typically batch_max / partitions), so a take of this many
# records applies a few stage-1 batches' worth of a partition's updates at once.
_RECORDS_PER_TAKE = 16


def use_uvloop() -> None:
    """Run the worker on uvloop (call before anything creates the event loop). Measured in
    docs/operations-bench.md: the worker spends a fifth of its time in asyncio and selectors,
    and ``benchmarks/faust_ceiling.py`` showed ~20% more records/s for a bare Faust agent."""
    from mode.loop import use

    use("uvloop")


def create_app(settings: Settings, kafka_bootstrap: str, database_url: str) -> faust.App:
    rt = Runtime(settings, kafka_bootstrap, database_url)
    datadir = settings.state_dir / "faust" / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{b.strip()}" for b in kafka_bootstrap.split(",")],
        broker_credentials=rt.kafka_security.faust_credentials(),  # TLS/SASL, as every client
        autodiscover=False,
        web_enabled=False,  # no table/router endpoints; health lives in the API
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=1,
        # Faust declares only its own internal leader topic; ours come from topics.yaml and the
        # worker refuses to start while one is missing (see `chatstate worker`).
        topic_allow_declare=True,
        producer_acks=-1,
        broker_commit_every=1000,
        # stream_wait_empty stays True (a rebalance waits for in-flight batches): a batch that
        # waits on a restarting broker finishes once Runtime.kafka() has a working producer.
        # A SIGKILLed worker's partitions move after 10 s (the default of
        # CHATSTATE_GROUP_SESSION_TIMEOUT_S) instead of Faust's default 60 s.
        broker_session_timeout=settings.group_session_timeout_s,
        broker_heartbeat_interval=settings.group_heartbeat_interval_s,
        broker_commit_interval=1.0,
        # Internal records are batches (~batch_max / partitions updates each): a buffer sized in
        # input records held ~100 MB of them; 32 takes keep the agent fed (4 takes starved it).
        stream_buffer_maxsize=32 * _RECORDS_PER_TAKE,
        datadir=str(datadir),
    )
    app.runtime = rt  # type: ignore[attr-defined]
    cat = rt.catalog
    by_name = {cat.name(logical): logical for logical in (CONVERSATIONS, SNAPSHOTS, COMMANDS)}
    updates = app.topic(rt.updates_topic, key_type=bytes, value_type=bytes)
    # Stage 1 in a sibling process (a core of its own), or in this one.
    stage1: Stage1 | Stage1Process = (
        Stage1Process(settings, kafka_bootstrap, database_url, lambda: rt.stopping)
        if settings.stage1_process
        else Stage1(rt, by_name)
    )
    app.stage1 = stage1  # type: ignore[attr-defined]

    @app.task  # type: ignore[untyped-decorator]
    async def start_stage1() -> None:
        await stage1.start()

    @app.agent(updates, concurrency=1)
    async def apply_updates(stream: Any) -> None:
        async for events in stream.noack_take(_RECORDS_PER_TAKE, within=settings.batch_within_s):
            raw = [
                (
                    e.message.topic,
                    e.message.partition,
                    e.message.offset,
                    e.message.key,
                    e.message.value or b"",
                )
                for e in events
            ]
            try:
                await rt.stage2(raw)  # every update committed or dead-lettered
            except Stopping:
                return
            for e in events:
                await stream.ack(e)

    @app.timer(interval=settings.scan_interval_s, on_leader=True)  # type: ignore[untyped-decorator]
    async def scans() -> None:
        # An exception escaping a Faust timer crashes the whole worker; a scan is periodic,
        # so a round that meets an unavailable database or broker is logged and skipped.
        try:
            await run_scans(rt)
        except KafkaError as exc:
            log.warning("scan skipped: Kafka unavailable", error=type(exc).__name__)
        except Exception as exc:
            if server_away(exc):
                log.warning("scan skipped: database unavailable", error=type(exc).__name__)
                return
            # A scan bug must not stop the stream; it is logged loudly and retried next round.
            log.exception("scan failed")

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def assigned(_app: Any, assigned: set[Any], **_: Any) -> None:
        by_topic: dict[str, int] = {}
        for tp in assigned:
            by_topic[tp.topic] = by_topic.get(tp.topic, 0) + 1
        log.info("partitions assigned", worker=settings.app_id, partitions=by_topic)
        rt.handoff.own(rt.updates_topic, {tp.partition for tp in assigned
                                          if tp.topic == rt.updates_topic})

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def close(_app: Any, **_: Any) -> None:
        await stage1.stop()
        await rt.stop()

    return app

