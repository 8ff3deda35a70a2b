"""Where the worker's time goes: py-spy samples the running worker from outside (no code
change, no restart, negligible overhead), and the collapsed stacks are summarised into the
functions that hold the most samples, inclusive and self."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["py_spy", "start_profiler", "summarise"]


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def start_profiler(pid: int, out: Path, duration_s: int) -> subprocess.Popen[bytes] | None:
    exe = py_spy()
    if exe is None:
        return None
    return subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--duration", str(duration_s), "--rate", "100",
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _split(f: str) -> tuple[str, str]:
    """``"func (processor/sink.py:123)"`` -> ``("func", "processor/sink.py")``."""
    name, _, where = f.partition(" (")
    return name, where.rsplit(":", 1)[0]


def _library(path: str) -> str:
    """Which package a frame belongs to: ours by module, others by top-level package."""
    head = path.split("/")[0]
    if head in ("processor", "schemas"):
        return "/".join(path.split("/")[:2]).removesuffix(".py")
    if path.startswith(("asyncio/", "selectors", "threading", "json/")) or "/" not in path:
        return f"stdlib {head.removesuffix('.py')}"
    return head


def summarise(collapsed: Path, seconds: float, rate_hz: int = 100, top: int = 12) -> dict[str, Any]:
    """``busyPct``: share of wall time the worker's threads ran Python (py-spy skips idle);
    ``ourCodeInclusivePct``: chatstate functions, time inside them and their callees;
    ``selfByPackagePct``: where the leaf frames are, by package (faust, pydantic, aiokafka...)."""
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        frames = [_split(f) for f in stack.split(";") if f]
        total += count
        ours = {f"{name} ({path})" for name, path in frames
                if path.startswith(("processor/", "schemas/")) and "/cli/" not in path}
        for f in ours:
            inclusive[f] += count
        if frames:
            by_package[_library(frames[-1][1])] += count
    if not total:
        return {"samples": 0}

    def pct(c: Counter[str]) -> list[list[Any]]:
        return [[f, round(100 * n / total, 1)] for f, n in c.most_common(top)]

    return {
        "samples": total,
        "busyPct": round(100 * total / (seconds * rate_hz), 1) if seconds else None,
        "ourCodeInclusivePct": pct(inclusive),
        "selfByPackagePct": pct(by_package),
    }
