"""``chatstate bench`` (throughput + latency against two references) and ``chatstate bench
chaos`` (the fault suite), both against the running stack."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from processor.cli._common import friendly_errors, load_settings
from processor.devstack.resolve import endpoints

__all__ = ["app"]

app = typer.Typer(help="Benchmark and fault suite against the running stack.")


@app.callback(invoke_without_command=True)
@friendly_errors
def bench(
    ctx: typer.Context,
    events: Annotated[int, typer.Option(help="N: records in the throughput run.")] = 100_000,
    latency_rate: Annotated[float, typer.Option(help="Records/s in the latency run.")] = 2000.0,
    latency_duration: Annotated[float, typer.Option(help="Seconds of the latency run.")] = 30.0,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    naive_max_s: Annotated[
        float, typer.Option(help="Time cap for the naive baseline (its rate is still exact).")
    ] = 120.0,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    workers: Annotated[
        int, typer.Option(help="chatstate workers in one group (2: how throughput scales).")
    ] = 1,
    keep: Annotated[bool, typer.Option(help="Keep the run's topics and database.")] = False,
    profile: Annotated[
        bool, typer.Option(help="Sample the worker with py-spy while it drains the backlog.")
    ] = False,
    stage1_process: Annotated[
        bool, typer.Option(help="Stage 1 in a sibling process of each worker (the default); "
                           "--no-stage1-process: inside it, to compare.")
    ] = True,
) -> None:
    """Throughput (drain N records) and latency (fixed rate) of `chatstate worker`, with the raw
    ceiling and a naive baseline measured on the same records in the same run."""
    if ctx.invoked_subcommand is not None:
        return
    from processor.bench.run import BenchConfig, run_bench

    settings = load_settings()
    ep = endpoints(settings)
    cfg = BenchConfig(
        events=events, latency_rate=latency_rate, latency_duration_s=latency_duration,
        seed=seed, naive_max_s=naive_max_s, results_dir=results, keep=keep, profile=profile,
        workers=workers, stage1_process=stage1_process,
    )
    report = asyncio.run(
        run_bench(cfg, ep.kafka_bootstrap, ep.database_url, sys.argv,
                  say=lambda m: typer.echo(m, err=True), security=ep.kafka_security)
    )
    typer.echo(table(report))
    for key, what in (("profile", "worker process (stage 2)"),
                      ("profileStage1", "stage-1 process")):
        prof = (report.get("chatstate") or {}).get(key) or {}
        if not prof.get("samples"):
            continue
        typer.echo(f"\n{what} while draining: Python busy {prof['busyPct']}% of the "
                   "time; share of samples inside chatstate's functions (inclusive):")
        for frame, pct in prof["ourCodeInclusivePct"]:
            typer.echo(f"  {pct:5.1f}%  {frame}")
        typer.echo("leaf frames by package:")
        for pkg, pct in prof["selfByPackagePct"]:
            typer.echo(f"  {pct:5.1f}%  {pkg}")
    out = report["resultsDir"]
    typer.echo(f"\nreport: {out}/report.json  plot: {out}/plot.png")


def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float | int):
        return f"{v:,.{digits}f}{unit}" if isinstance(v, float) else f"{v:,}{unit}"
    return str(v)


def table(report: dict[str, Any]) -> str:
    cs = report.get("chatstate") or {}
    tp, lat = cs.get("throughput", {}), cs.get("latency", {})
    raw, naive, r = report["rawCeiling"], report["naiveBaseline"], report["ratios"]
    met = report.get("goalsMet", {})
    goals = report.get("goals", {})

    def mark(k: str) -> str:
        return {True: "met", False: "MISSED", None: "-"}[met.get(k)]

    rows = [
        ("figure", "value", "goal", ""),
        ("records (N)", _fmt(tp.get("records") or raw["records"]), "", ""),
        (f"chatstate events/s ({cs.get('workers', 1)} worker(s))", _fmt(tp.get("eventsPerS")),
         ">= 10,000",
         mark("eventsPerS")),
        ("raw ceiling events/s", _fmt(raw["eventsPerS"]), "", ""),
        ("naive baseline events/s", _fmt(naive["eventsPerS"]), "", ""),
        ("chatstate / naive", _fmt(r["chatstateVsNaive"], "x"), f">= {goals.get('vsNaive', 5):g}x",
         mark("vsNaive")),
        ("chatstate / raw", _fmt(r["chatstateVsRaw"], digits=3), ">= 0.40", mark("vsRaw")),
        (f"latency p50 @ {lat.get('rate', 0):,.0f}/s", _fmt(lat.get("p50Ms"), " ms"), "", ""),
        ("latency p95", _fmt(lat.get("p95Ms"), " ms"), "", ""),
        ("latency p99", _fmt(lat.get("p99Ms"), " ms"), "<= 250 ms", mark("latencyP99")),
        ("worker CPU (cores, drain)", _fmt(tp.get("workerCpuCores")), "", ""),
        ("worker peak RSS", _fmt(cs.get("workerPeakRssMb"), " MB"), "<= 300 MB",
         mark("workerRss")),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


@app.command()
@friendly_errors
def chaos(
    rate: Annotated[float, typer.Option(help="Records/s while faults happen.")] = 500.0,
    kills: Annotated[int, typer.Option(help="SIGKILLs of the worker.")] = 3,
    restart_servers: Annotated[
        bool,
        typer.Option(help="Also restart PostgreSQL and the Kafka broker (local stack only: "
                     "disrupts anyone else using them)."),
    ] = False,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    keep: Annotated[bool, typer.Option(help="Keep the run's topics and database.")] = False,
) -> None:
    """Stream simulated traffic while killing workers, rebalancing and (if asked) restarting the
    servers; then compare the database with the state machine replayed over the internal topic.
    Exit 1 when anything was lost, applied twice or alerted twice."""
    import json
    from datetime import UTC, datetime

    from processor.bench.chaos import ChaosConfig, run_chaos
    from processor.bench.space import create_space, drop_space
    from processor.devstack.stack import LocalStack

    settings = load_settings()
    ep = endpoints(settings)
    local = ep.source == "local"

    def say(message: str) -> None:
        typer.echo(message, err=True)

    if restart_servers:
        say("server restarts requested: " + (
            "the servers are the local stack; PostgreSQL and Kafka WILL be restarted "
            "(other users of this stack see a blip)" if local
            else "the servers are not the local stack; they will NOT be restarted"))
    cfg = ChaosConfig(rate=rate, kills=kills, restart_servers=restart_servers,
                      servers_are_local=local)
    out = results / f"chaos-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    out.mkdir(parents=True, exist_ok=True)

    async def go() -> dict[str, Any]:
        space = await create_space(ep.kafka_bootstrap, ep.database_url, label="chaos",
                                   security=ep.kafka_security)
        say(f"private run space: topics {space.prefix}*, database {space.database}")
        try:
            return await run_chaos(space, cfg, out, say,
                                   stack_restart=lambda w: LocalStack(settings).restart(w))
        finally:
            if not keep:
                await drop_space(space)

    report = asyncio.run(go())
    report["command"] = sys.argv
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    typer.echo(chaos_table(report))
    typer.echo(f"\nreport: {out}/report.json")
    if report["lost"] or report["appliedTwice"] or report["duplicateAlerts"]:
        raise typer.Exit(1)


def chaos_table(r: dict[str, Any]) -> str:
    lines = [
        f"records sent            {r['recordsSent']:,}  {r['recordsSentByKind']}",
        f"updates (internal)      {r['updatesOnInternalTopic']:,} "
        f"in {r['internalRecords']:,} records",
        f"records applied         {r['internalRecordsApplied']:,}",
        f"drained after faults    {r['drained']}",
        f"lost                    {r['lost']}  (must be 0: sessions missing/behind the replay "
        f"+ {r['unapplied']} records unapplied + {r['inputsNotForwarded']} inputs not forwarded)",
        f"applied twice           {r['appliedTwice']}  (must be 0)",
        f"diverged from replay    {r['diverged']}",
        f"duplicate alerts        {r['duplicateAlerts']}  (must be 0) of {r['alerts']} alerts",
        f"vs simulator's expected {r['expectedOutcome']}",
        "faults (time until processing resumed / lag back to its pre-fault level):",
    ]
    lines += [f"  {f['fault']:<40} resumed {f['recoverS']} s, caught up {f.get('caughtUpS')} s"
              for f in r.get("faults", [])]
    return "\n".join(lines)
