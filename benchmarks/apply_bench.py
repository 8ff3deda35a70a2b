"""Stage 2's unit of work (``SessionStore.apply``) against a real PostgreSQL: cost per update.

Not a test: figures depend on the machine. ``pipeline_bench.py`` measures ``decide`` alone; this
measures what one stage-2 batch costs with the database in the loop: the simulator's updates
(parse_all -> route -> pack -> decode, as stage 1 and stage 2 do) applied in batches of
``--batch`` through ``SessionStore.apply``, per internal partition and in offset order, against a
fresh database (created, migrated, dropped) on the dev stack (or ``DATABASE_URL``). Reported:

    cpu     CPU us per update of this process (decide, row building, asyncpg encoding)
    pg      CPU us per update of the PostgreSQL backend serving the pool's one connection
    wall    ms per batch, wall clock
    stmts   statements (round trips) per batch, BEGIN and COMMIT included

``--baseline REV`` runs the same measurement on another commit (a git worktree) in alternation
with this tree, ``--repeat`` times each, each run on its own fresh database, and prints the
ratios: both sides see the same machine load.

    .venv/bin/python benchmarks/apply_bench.py [--sessions 2000] [--repeat 3] [--baseline HEAD~3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline_bench import alternate

FIGURES = ("cpu", "pg", "wall", "stmts")
PARTITIONS = 12


class _Counting(asyncpg.Connection):
    """Counts statements sent: prepared ones (fetch/execute with args), executemany, and
    simple queries (BEGIN/COMMIT)."""

    statements = 0

    async def _execute(self, *a: Any, **kw: Any) -> Any:
        _Counting.statements += 1
        return await super()._execute(*a, **kw)  # type: ignore[misc]  # not in the stubs

    async def _executemany(self, *a: Any, **kw: Any) -> Any:
        _Counting.statements += 1
        return await super()._executemany(*a, **kw)  # type: ignore[misc]  # not in the stubs

    async def execute(self, query: str, *args: Any, **kw: Any) -> str:
        if not args:
            _Counting.statements += 1
        return await super().execute(query, *args, **kw)


def _batches(sessions: int, seed: int, size: int) -> list[list[Any]]:
    """The simulator's records as stage 2 sees them: BatchItems per partition, ``size`` each."""
    from processor.core.internal_records import decode, pack
    from processor.core.route import Inbound, parse_all, route
    from processor.sim.scenarios import SimConfig, Simulation
    from processor.worker.unit_of_work import BatchItem

    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    sim = Simulation(SimConfig(seed=seed, start=start, sessions=sessions))
    inbound = [
        Inbound(r.topic.value, "bench." + r.topic.value, 0, i,
                r.key.encode() if r.key else None, r.value)
        for i, r in enumerate(sim.records())
    ]
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    known: dict[Any, Any] = {}
    offsets = [0] * PARTITIONS
    per_partition: list[list[Any]] = [[] for _ in range(PARTITIONS)]
    for i in range(0, len(inbound), 500):
        chunk = inbound[i : i + 500]
        routed = route(chunk, parse_all(chunk), known, now)
        known.update(routed.learned)
        for rec in pack(routed.updates, PARTITIONS, "bench", 900_000):
            offset = offsets[rec.partition]
            offsets[rec.partition] += 1
            for d in decode(rec.value):
                if d.update is not None:
                    per_partition[rec.partition].append(BatchItem(
                        "bench.updates", rec.partition, offset, d.update, rec.key, b"",
                        d.index, d.count))
    return [items[j : j + size] for items in per_partition for j in range(0, len(items), size)]


def _backend_cpu(pid: int) -> float:
    """utime + stime of a local PostgreSQL backend, seconds (0 when not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(sessions: int, seed: int, size: int) -> dict[str, float]:
    from processor.core.lifecycle import LifecyclePolicy
    from processor.db import create_pool
    from processor.devstack.resolve import endpoints
    from processor.migrate import migrate
    from processor.settings import Settings
    from processor.worker.unit_of_work import SessionStore

    url = endpoints(Settings()).database_url
    db = f"chatstate_applybench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{db}"')
    bench_url = url.rpartition("/")[0] + "/" + db
    try:
        await migrate(bench_url)
        batches = _batches(sessions, seed, size)
        from processor.worker.gc_settings import tune_gc

        tune_gc()  # as the worker does once started (processor/worker/gc_settings.py)
        pool = await create_pool(bench_url, min_size=1, max_size=1, connection_class=_Counting)
        try:
            store = SessionStore(pool, consumer="bench", policy=LifecyclePolicy(),
                                 sessions_topic="chat.sessions", alerts_topic="chat.alerts")
            backend = await pool.fetchval("SELECT pg_backend_pid()")
            _Counting.statements = 0
            walls: list[float] = []
            cpu0, pg0 = time.process_time(), _backend_cpu(backend)
            for items in batches:
                t0 = time.perf_counter()
                await store.apply(items)
                walls.append(time.perf_counter() - t0)
            cpu, pg = time.process_time() - cpu0, _backend_cpu(backend) - pg0
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    n = sum(len(b) for b in batches)
    return {"cpu": cpu / n * 1e6, "pg": pg / n * 1e6, "wall": statistics.median(walls) * 1e3,
            "stmts": _Counting.statements / len(batches), "updates": n, "batches": len(batches)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sessions", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--baseline", help="a git revision to compare with, in alternation")
    p.add_argument("--json", action="store_true", help="one run, figures as JSON (internal)")
    args = p.parse_args()
    if args.json:
        print(json.dumps(asyncio.run(_measure(args.sessions, args.seed, args.batch))))
        return
    runs = alternate(Path(__file__), ["--sessions", str(args.sessions), "--seed", str(args.seed),
                                      "--batch", str(args.batch)], args.baseline, args.repeat)
    first = next(iter(runs.values()))[0]
    print(f"{int(first['updates']):,} updates in {int(first['batches'])} batches of <= "
          f"{args.batch}, {args.sessions} sessions, seed {args.seed}; median of {args.repeat}")
    print("cpu/pg: CPU us per update (this process / the PostgreSQL backend); wall: ms per "
          "batch; stmts: statements per batch")
    print(f"{'figure':8s}" + "".join(f"{name:>22s}" for name in runs)
          + ("   this/base" if args.baseline else ""))
    for fig in FIGURES:
        vals = [statistics.median(r[fig] for r in rs) for rs in runs.values()]
        ratio = f"   {vals[1] / vals[0]:.2f}x" if args.baseline and vals[0] else ""
        print(f"{fig:8s}" + "".join(f"{v:22.1f}" for v in vals) + ratio)


if __name__ == "__main__":
    main()
