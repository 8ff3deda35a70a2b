"""CPU time per record of each pure step of the worker's pipeline, in-process, on one core.

Not a test: figures depend on the machine. ``make bench`` measures the worker end to end; this
says where its CPU goes per record, without Kafka or PostgreSQL in the way, so a change to one
step can be measured alone. Records come from the simulator (the same mix as ``make bench``):

    parse   bytes -> typed observation / guarded snapshot / command   (stage 1, ``parse_all``)
    route   parsed -> SessionUpdate models                              (stage 1, ``route``)
    pack    SessionUpdate models -> internal records (JSON)             (stage 1, ``pack``)
    decode  internal record -> SessionUpdate models                     (stage 2, ``decode``)
    decide  the lifecycle over every update, sessions held in a dict   (stage 2, ``decide``)

``--baseline REV`` runs the same measurement on another commit (a git worktree in the temp dir) in
alternation with this tree, ``--repeat`` times each, and prints the ratio per step: the two
sides see the same machine load, which a single before/after pair on a shared machine does not.

    .venv/bin/python benchmarks/pipeline_bench.py [--sessions 2000] [--repeat 3] [--baseline HEAD~3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STEPS = ("parse", "route", "pack", "decode", "decide")


def measure(sessions: int, seed: int) -> dict[str, float]:
    """CPU microseconds per input record of each step (same records every call)."""
    from processor.core.internal_records import decode, pack
    from processor.core.lifecycle import LifecyclePolicy, decide
    from processor.core.route import Inbound, parse_all, route
    from processor.sim.scenarios import SimConfig, Simulation

    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    sim = Simulation(SimConfig(seed=seed, start=start, sessions=sessions))
    records = [
        Inbound(r.topic.value, "bench." + r.topic.value, 0, i,
                r.key.encode() if r.key else None, r.value)
        for i, r in enumerate(sim.records())
    ]
    n = len(records)
    batches = [records[i : i + 500] for i in range(0, n, 500)]
    out: dict[str, float] = {}

    def timed(step: str, f: Callable[[], Any]) -> Any:
        t0 = time.process_time()
        result = f()
        out[step] = (time.process_time() - t0) / n * 1e6
        return result

    parsed = timed("parse", lambda: [parse_all(b) for b in batches])
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def routing() -> list[Any]:
        known: dict[Any, Any] = {}
        routed = []
        for b, p in zip(batches, parsed, strict=True):
            r = route(b, p, known, now)
            known.update(r.learned)
            routed.append(r.updates)
        return routed

    updates = timed("route", routing)
    packed = timed("pack", lambda: [pack(u, 12, "bench", 900_000) for u in updates])
    decoded = timed("decode", lambda: [decode(r.value) for rs in packed for r in rs])
    policy = LifecyclePolicy()

    def deciding() -> None:
        sessions_by_id: dict[Any, Any] = {}
        known: set[str] = set()
        for ds in decoded:
            for d in ds:
                u = d.update
                if u is None:
                    continue
                decision = decide(sessions_by_id.get(u.persistent_session_id), u, policy,
                                  issued=True, known_snapshots=known, erased=False)
                if decision.session is not None and decision.changed:
                    sessions_by_id[u.persistent_session_id] = decision.session
                if decision.snapshot is not None:
                    known.add(decision.snapshot.source_id)

    timed("decide", deciding)
    out["records"] = n
    return out


def _worktree(rev: str) -> Path:
    sha = subprocess.check_output(["git", "rev-parse", "--short", rev], text=True).strip()
    path = Path(tempfile.gettempdir()) / f"chatstate-baseline-{sha}"
    if not path.exists():
        subprocess.check_call(["git", "worktree", "add", "--detach", str(path), sha],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def alternate(script: Path, argv: list[str], baseline: str | None,
              repeat: int) -> dict[str, list[dict[str, float]]]:
    """Run ``script argv --json`` ``repeat`` times in this tree and, with ``baseline``, as many
    times in a worktree of that revision, in alternation (same load on both sides). Returns the
    JSON figures of every run per side, baseline first. Shared with ``apply_bench.py``."""
    here = Path(__file__).resolve().parent.parent
    sides = {"this tree": here}
    if baseline:
        sides = {f"baseline {baseline}": _worktree(baseline), **sides}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, tree in sides.items():
            cmd = [sys.executable, str(script.resolve()), *argv, "--json"]
            env = {**os.environ, "PYTHONPATH": str(tree)}
            done = subprocess.run(cmd, env=env, cwd=tree, check=True, capture_output=True,
                                  text=True)
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sessions", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--baseline", help="a git revision to compare with, in alternation")
    p.add_argument("--json", action="store_true", help="one run, figures as JSON (internal)")
    args = p.parse_args()
    if args.json:
        print(json.dumps(measure(args.sessions, args.seed)))
        return
    runs = alternate(Path(__file__), ["--sessions", str(args.sessions), "--seed", str(args.seed)],
                     args.baseline, args.repeat)
    n = int(next(iter(runs.values()))[0]["records"])
    print(f"{n:,} records, {args.sessions} sessions, seed {args.seed}; CPU us/record, median of "
          f"{args.repeat}")
    print(f"{'step':8s}" + "".join(f"{name:>22s}" for name in runs)
          + ("   this/base" if args.baseline else ""))
    for step in (*STEPS, "total"):
        med = {
            name: statistics.median(
                sum(r[s] for s in STEPS) if step == "total" else r[step] for r in rs
            )
            for name, rs in runs.items()
        }
        vals = list(med.values())
        ratio = f"   {vals[1] / vals[0]:.2f}x" if args.baseline else ""
        print(f"{step:8s}" + "".join(f"{v:22.1f}" for v in vals) + ratio)


if __name__ == "__main__":
    main()
