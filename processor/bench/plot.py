"""The report's picture: throughput and lag while the backlog drains, latency at a fixed rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot"]


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    fig, (ax_tp, ax_lag, ax_lat) = plt.subplots(3, 1, figsize=(10, 11))
    samples = [s for s in report.get("samples", []) if s["applied"] >= 0]
    tp = [s for s in samples if s["phase"] == "throughput"]
    if len(tp) > 1:
        t0 = tp[0]["t"]
        xs, inputs, updates = [], [], []
        a = tp[0]
        for b in tp[1:]:
            dt = b["t"] - a["t"]
            if dt < 2.0:  # stage 1 commits offsets about once a second: rate over 2 s windows
                continue
            xs.append(b["t"] - t0)
            inputs.append((b["stage1Committed"] - a["stage1Committed"]) / dt)
            updates.append((b["applied"] - a["applied"]) / dt)
            a = b
        ax_tp.plot(xs, inputs, label="input records/s (stage 1 committed)")
        ax_tp.plot(xs, updates, label="updates/s (stage 2 committed in PostgreSQL)")
        for name, key in (("raw ceiling", "rawCeiling"), ("naive baseline", "naiveBaseline")):
            rate = report.get(key, {}).get("eventsPerS")
            if rate:
                ax_tp.axhline(rate, linestyle="--", label=f"{name} {rate:,.0f}/s")
        ax_tp.set_title("Throughput run: draining the backlog")
        ax_tp.set_xlabel("s since resume")
        ax_tp.set_yscale("symlog", linthresh=100)  # the raw ceiling is far above the rest
        ax_tp.set_ylim(bottom=0)
        ax_tp.set_ylabel("per second (log)")
        ax_tp.legend(fontsize=8)
    if samples:
        t0 = samples[0]["t"]
        for phase in ("warmup", "throughput", "latency"):
            pts = [s for s in samples if s["phase"] == phase]
            if pts:
                ax_lag.plot([s["t"] - t0 for s in pts], [s["lag"] for s in pts], label=phase)
        ax_lag.set_title("Consumer lag (input not yet forwarded + updates not yet committed)")
        ax_lag.set_xlabel("s since warm-up")
        ax_lag.set_ylabel("records")
        ax_lag.legend(fontsize=8)
    lat = (report.get("chatstate") or {}).get("latency", {})
    points = lat.get("points") or []
    if points:
        t0 = points[0][0]
        ax_lat.scatter([p[0] - t0 for p in points], [p[1] for p in points], s=2)
        for q in ("p50Ms", "p99Ms"):
            if lat.get(q) is not None:
                ax_lat.axhline(lat[q], linestyle="--", label=f"{q[:3]} {lat[q]:.0f} ms")
        ax_lat.set_title(f"Latency run at {lat.get('rate', 0):,.0f} records/s: "
                         "snapshot sent → committed in PostgreSQL")
        ax_lat.set_xlabel("s")
        ax_lat.set_ylabel("ms")
        ax_lat.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
