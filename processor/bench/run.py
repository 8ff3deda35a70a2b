"""``chatstate bench``: chatstate's worker against its two yardsticks, in one run.

How the throughput figure is made fair: the worker starts and warms up on a small stream, is
paused (SIGSTOP) while the N benchmark records are produced, then resumed; the clock runs from
the resume to the moment the last record's effects are committed in PostgreSQL. The raw ceiling
and the naive baseline then drain exactly the same N records from the same offsets. All three
thus measure "drain a backlog", none of them pays for the producer, and the ratios hold on a
noisy 2-core machine where broker, database and worker share the CPUs.

The pause must not look like a dead worker: paused past the group session timeout (10 s by
default; producing N records takes 8-15 s here), both groups would rebalance on resume and the
drain would measure the rejoin (issue 14: it halved the figure on a slow day). The bench's
workers therefore run with ``_SESSION_TIMEOUT_S``; ``chatstate bench chaos`` keeps the default,
as its SIGKILLs need the failover.

The latency run produces at a fixed rate with the wall-clock send time inside each snapshot;
``snapshots.committed_at`` minus that is produce→commit latency."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from processor.bench.probe import INPUTS, Probe, Sample
from processor.bench.profile import start_profiler, summarise
from processor.bench.references import naive_baseline, raw_ceiling
from processor.bench.space import RunSpace, create_space, drop_space
from processor.bench.worker_process import ResourceSampler, WorkerProcess, worker_available
from processor.kafka_security import KafkaSecurity
from processor.sim import ProduceStats, SimConfig, Simulation, produce

__all__ = ["GOALS", "BenchConfig", "percentile", "run_bench"]

GOALS = {
    "chatstateEventsPerS": 10_000,
    "latencyP99Ms": 250,
    "vsNaive": 5.0,  # issue 14 (issue 6 asked 10x of a baseline measured before the reshape)
    "vsRaw": 0.40,
    "workerPeakRssMb": 300,
}


_SESSION_TIMEOUT_S = 60.0  # longer than producing the backlog takes (the workers are paused)


@dataclass(frozen=True)
class BenchConfig:
    events: int = 100_000
    latency_rate: float = 2000.0
    latency_duration_s: float = 30.0
    seed: int = 7
    warmup_events: int = 1000
    naive_max_s: float = 120.0
    drain_timeout_s: float = 600.0
    results_dir: Path = Path("results")
    keep: bool = False
    profile: bool = False
    workers: int = 1  # chatstate workers in the group (2: how throughput scales)
    stage1_process: bool = True  # CHATSTATE_STAGE1_PROCESS of the workers (False: to compare)


@dataclass
class _Run:
    cfg: BenchConfig
    space: RunSpace
    probe: Probe
    say: Callable[[str], None]
    samples: list[dict[str, Any]] = field(default_factory=list)
    phase: str = ""
    before: dict[TopicPartition, int] = field(default_factory=dict)  # the N records' range
    after: dict[TopicPartition, int] = field(default_factory=dict)
    produced: ProduceStats | None = None

    @property
    def records(self) -> int:
        return sum(self.after[tp] - self.before.get(tp, 0) for tp in self.after)

    async def sample(self) -> Sample:
        s = await self.probe.sample()
        self.samples.append({**s.as_dict(), "phase": self.phase})
        return s

    async def drain(self, limit_s: float) -> tuple[Sample, float | None]:
        """Poll until stage 1 has committed every input and stage 2 every forwarded update.
        Returns the last sample and when ``applied`` first reached the final internal end."""
        deadline = time.monotonic() + limit_s
        history: list[Sample] = []
        while True:
            s = await self.sample()
            history.append(s)
            done = s.stage1_committed >= s.input_end and s.applied >= s.internal_end >= 0
            if done and len(history) > 1 and history[-2].internal_end == s.internal_end:
                break
            if time.monotonic() > deadline:
                return s, None
            await asyncio.sleep(0.2)
        final = s.internal_end
        reached = next((h.t for h in history if h.applied >= final), s.t)
        return s, reached


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run_bench(
    cfg: BenchConfig, kafka: str, admin_db_url: str, argv: list[str],
    say: Callable[[str], None] = print, *, security: KafkaSecurity,
) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = cfg.results_dir / f"bench-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    space = await create_space(kafka, admin_db_url, security=security)
    say(f"private run space: topics {space.prefix}*, database {space.database}")
    app_id = f"{space.prefix.rstrip('.')}-worker"
    probe = Probe(space, app_id)
    await probe.start()
    run = _Run(cfg, space, probe, say)
    report: dict[str, Any] = {
        "startedAt": stamp, "command": argv, "config": _jsonable(cfg),
        "environment": _environment(kafka), "goals": GOALS,
    }
    worker: WorkerProcess | None = None
    try:
        if worker_available():
            worker = WorkerProcess(space, app_id, out_dir, name="worker",
                                   stage1_process=cfg.stage1_process,
                                   session_timeout_s=_SESSION_TIMEOUT_S)
            report["chatstate"] = await _chatstate(run, worker, out_dir)
        else:
            say("`chatstate worker` is not available in this build: references only")
            report["chatstate"] = {"skipped": "chatstate worker not available"}
            await _backlog(run, None)
        start, end = run.before, run.after
        say("raw ceiling: reading + json.loads the same records ...")
        report["rawCeiling"] = (await raw_ceiling(kafka, start, end, security=security)).as_dict()
        say("naive baseline: one autocommitted upsert per record ...")
        report["naiveBaseline"] = (
            await naive_baseline(kafka, space.database_url, start, end, cfg.naive_max_s,
                                 security=security)
        ).as_dict()
        report["ratios"] = _ratios(report)
        report["goalsMet"] = _goals_met(report)
        report["samples"] = run.samples
    finally:
        if worker is not None:
            await worker.stop()
            worker.cleanup()
        await probe.stop()
        if not cfg.keep:
            await drop_space(space)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    try:
        from processor.bench.plot import plot

        plot(report, out_dir / "plot.png")
    except ImportError as exc:  # matplotlib is the bench extra
        say(f"no plot: {exc}")
    report["resultsDir"] = str(out_dir)
    return report


async def _backlog(run: _Run, worker: WorkerProcess | None,
                   others: list[WorkerProcess] | None = None) -> None:
    """Produce the N benchmark records (workers paused, if any); remember their offsets."""
    cfg = run.cfg
    before = await run.probe.end_offsets(INPUTS)
    for w in [*([worker] if worker else []), *(others or [])]:
        w.pause()
    sim = Simulation(SimConfig(seed=cfg.seed, start=_now(), sessions=None,
                               target_events=cfg.events))
    run.say(f"producing {cfg.events:,} records ...")
    stats = await produce(sim.records(), run.space.kafka_bootstrap, run.space.catalog,
                          security=run.space.security)
    run.before, run.after = before, await run.probe.end_offsets(INPUTS)
    run.produced = stats
    run.say(f"produced {stats.sent:,} records in {stats.finished - stats.started:.1f} s "
            f"({stats.rate:,.0f}/s), {len(sim.plans):,} sessions")


async def _chatstate(run: _Run, worker: WorkerProcess, out_dir: Path) -> dict[str, Any]:
    cfg = run.cfg
    worker.start()
    # Further workers join the same group (CHATSTATE_APP_ID): how throughput scales.
    others = [WorkerProcess(run.space, worker.app_id, out_dir, name=f"worker{i + 2}",
                            stage1_process=cfg.stage1_process,
                            session_timeout_s=_SESSION_TIMEOUT_S)
              for i in range(cfg.workers - 1)]
    for w in others:
        w.start()
    run.say(f"{cfg.workers} worker(s) started (pid {worker.pid}); warming up ...")
    run.phase = "warmup"
    warm = Simulation(SimConfig(seed=cfg.seed + 1000, start=_now(), sessions=None,
                                target_events=cfg.warmup_events))
    await produce(warm.records(), run.space.kafka_bootstrap, run.space.catalog,
                  security=run.space.security)
    s, reached = await run.drain(180.0)
    if reached is None or not worker.alive():
        raise RuntimeError(f"worker did not take the warm-up (last sample {s}); see {out_dir}")
    sampler = ResourceSampler(worker.pid or 0)
    sampler.start()
    other_samplers = [ResourceSampler(w.pid or 0) for w in others]
    for o in other_samplers:
        o.start()
    await _backlog(run, worker, others)
    run.phase = "throughput"
    base = await run.sample()
    sampler_cpu0 = sampler.cpu_seconds() + sum(o.cpu_seconds() for o in other_samplers)
    t0 = time.time()
    worker.resume()
    for w in others:
        w.resume()
    # One py-spy per process: the worker (stage 2) and its stage-1 sibling, if it runs one.
    profiled = {"worker": worker.pid or 0}
    profiled.update(("stage1", pid) for pid in worker.children()[:1])
    profilers = ({name: start_profiler(pid, out_dir / f"{name}-profile.txt", 600)
                  for name, pid in profiled.items()} if cfg.profile else {})
    run.say("worker resumed: draining the backlog ...")
    s, reached = await run.drain(cfg.drain_timeout_s)
    cpu = sampler.cpu_seconds() + sum(o.cpu_seconds() for o in other_samplers) - sampler_cpu0
    profiles: dict[str, Any] = {}
    for name, profiler in profilers.items():
        if profiler is None:
            profiles[name] = {"error": "py-spy not installed (pip install -e '.[bench]')"}
            continue
        profiler.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        await asyncio.to_thread(profiler.wait, 60)
        path = out_dir / f"{name}-profile.txt"
        profiles[name] = (summarise(path, time.time() - t0) if path.exists()
                          else {"error": "py-spy wrote nothing"})
    n = run.records
    elapsed = (reached or s.t) - t0
    throughput = {
        "records": n, "internalRecordsApplied": s.applied - base.applied,
        "seconds": round(elapsed, 3), "eventsPerS": round(n / elapsed, 1) if elapsed else None,
        "complete": reached is not None, "workerCpuSeconds": round(cpu, 2),
        "workerCpuCores": round(cpu / elapsed, 2) if elapsed else None,
        "producerEventsPerS": round(run.produced.rate, 1) if run.produced else None,
    }
    run.say(f"chatstate drained {n:,} records in {elapsed:.1f} s ({n / elapsed:,.0f}/s)")

    run.phase = "latency"
    since = time.time_ns()
    lat_sim = Simulation(SimConfig(seed=cfg.seed + 2000, start=_now(), sessions=None,
                                   target_events=int(cfg.latency_rate * cfg.latency_duration_s)))
    run.say(f"latency run: {cfg.latency_rate:,.0f} records/s for {cfg.latency_duration_s:.0f} s")
    sampling = asyncio.create_task(_sample_forever(run))
    try:
        stats = await produce(lat_sim.records(), run.space.kafka_bootstrap, run.space.catalog,
                              security=run.space.security, rate=cfg.latency_rate,
                              duration=cfg.latency_duration_s, stamp=True)
    finally:
        sampling.cancel()
    await run.drain(120.0)
    lat = await run.probe.latencies(since)
    values = [ms for _, ms in lat]
    latency = {
        "rate": cfg.latency_rate, "seconds": cfg.latency_duration_s, "sent": stats.sent,
        "achievedRate": round(stats.rate, 1), "snapshotsMeasured": len(values),
        "p50Ms": _r(percentile(values, 50)), "p95Ms": _r(percentile(values, 95)),
        "p99Ms": _r(percentile(values, 99)), "maxMs": _r(max(values) if values else None),
        "points": [[round(t, 3), round(ms, 2)] for t, ms in lat],
    }
    await sampler.stop()
    for o in other_samplers:
        await o.stop()
    await worker.stop()
    for w in others:
        await w.stop()
        w.cleanup()
    return {"throughput": throughput, "latency": latency, "profile": profiles.get("worker"),
            "profileStage1": profiles.get("stage1"),
            "workers": cfg.workers,
            "workerPeakRssMb": round(max([sampler.peak_rss, *(o.peak_rss for o in
                                                             other_samplers)]) / 2**20, 1),
            "workerRss": [[round(t, 2), r] for t, r in sampler.rss]}


async def _sample_forever(run: _Run) -> None:
    while True:
        await run.sample()
        await asyncio.sleep(0.5)


def _r(v: float | None) -> float | None:
    return round(v, 2) if v is not None else None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _ratios(report: dict[str, Any]) -> dict[str, float | None]:
    cs = (report.get("chatstate") or {}).get("throughput", {}).get("eventsPerS")
    raw = report["rawCeiling"]["eventsPerS"]
    naive = report["naiveBaseline"]["eventsPerS"]
    return {
        "chatstateVsNaive": round(cs / naive, 2) if cs and naive else None,
        "chatstateVsRaw": round(cs / raw, 3) if cs and raw else None,
    }


def _goals_met(report: dict[str, Any]) -> dict[str, bool | None]:
    cs = report.get("chatstate") or {}
    tp = cs.get("throughput", {}).get("eventsPerS")
    p99 = cs.get("latency", {}).get("p99Ms")
    rss = cs.get("workerPeakRssMb")
    r = report["ratios"]

    def ge(v: float | None, goal: float) -> bool | None:
        return None if v is None else v >= goal

    return {
        "eventsPerS": ge(tp, GOALS["chatstateEventsPerS"]),
        "latencyP99": None if p99 is None else p99 <= GOALS["latencyP99Ms"],
        "vsNaive": ge(r["chatstateVsNaive"], GOALS["vsNaive"]),
        "vsRaw": ge(r["chatstateVsRaw"], GOALS["vsRaw"]),
        "workerRss": None if rss is None else rss <= GOALS["workerPeakRssMb"],
    }


def _environment(kafka: str) -> dict[str, Any]:
    import psutil

    return {
        "host": platform.node(), "platform": platform.platform(),
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "memoryMb": round(psutil.virtual_memory().total / 2**20),
        "loadAvg": os.getloadavg(), "kafkaBootstrap": kafka,
    }


def _jsonable(cfg: BenchConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in cfg.__dict__.items()}

