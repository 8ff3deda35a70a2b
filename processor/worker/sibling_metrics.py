"""The stage-1 process's metrics, carried to the worker process and served as one worker's.

Stage 1 runs in a sibling process (``processor/worker/stage1_process.py``), but operators scrape
one ``/metrics`` per worker and the dashboard, the alert rules and the runbook name one set of
series. So the sibling sends a snapshot of its registry every second (a JSON line on its stdout)
and the worker's ``/metrics`` serves the sum of both processes:

- counters and histograms add up (each process counts what it did);
- gauges add up too (lag of different partitions, resident memory of two processes), except
  ``chatstate_stalled`` and ``process_max_fds`` (the larger) and ``process_start_time_seconds``
  (the earlier), and every ``*_created`` sample (the earlier).

Why not prometheus_client's multiprocess mode: it needs a shared directory set before import,
does not support callback gauges (the parked index, the stall flag) and is built for forked
copies of one program, not two processes doing different jobs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

__all__ = ["Family", "MergedRegistry", "decode_snapshot", "encode_snapshot", "merge"]

Family = dict[str, Any]  # {"name", "documentation", "type", "unit", "samples": [[n, labels, v]]}

_LARGER = frozenset({"chatstate_stalled", "process_max_fds"})
_EARLIER = frozenset({"process_start_time_seconds"})


def encode_snapshot(registry: CollectorRegistry) -> bytes:
    """One JSON line holding every family of ``registry`` and its samples."""
    families = [
        {
            "name": m.name,
            "documentation": m.documentation,
            "type": m.type,
            "unit": m.unit,
            "samples": [[s.name, s.labels, s.value] for s in m.samples],
        }
        for m in registry.collect()
    ]
    return json.dumps(families, separators=(",", ":")).encode() + b"\n"


def decode_snapshot(line: bytes) -> list[Family] | None:
    """The families of one snapshot line, or None if the line is not one (never raises)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str)
        and isinstance(f.get("samples"), list) for f in data
    ):
        return None
    return data


def _combine(name: str, kind: str, a: float, b: float) -> float:
    if name.endswith("_created") or name in _EARLIER:
        return min(a, b)
    if kind == "gauge" and name in _LARGER:
        return max(a, b)
    return a + b


def merge(own: Iterable[Metric], others: Iterable[Family]) -> list[Metric]:
    """``own`` families with ``others``' samples folded in (see the module docstring)."""
    out = list(own)
    by_name = {m.name: m for m in out}
    for fam in others:
        m = by_name.get(fam["name"])
        if m is None:
            m = Metric(fam["name"], str(fam.get("documentation", "")), str(fam.get("type", "")),
                       str(fam.get("unit", "")))
            by_name[m.name] = m
            out.append(m)
        at = {(s.name, tuple(sorted(s.labels.items()))): i for i, s in enumerate(m.samples)}
        for item in fam["samples"]:
            try:
                name, labels, value = str(item[0]), dict(item[1]), float(item[2])
            except (TypeError, ValueError, IndexError):
                continue
            key = (name, tuple(sorted(labels.items())))
            i = at.get(key)
            if i is None:
                at[key] = len(m.samples)
                m.samples.append(Sample(name, labels, value, None, None))
            else:
                old = m.samples[i]
                m.samples[i] = old._replace(value=_combine(name, m.type, old.value, value))
    return out


class MergedRegistry(CollectorRegistry):
    """What ``/metrics`` serves: ``registry``'s families merged with those ``others`` returns
    (the latest snapshot of each sibling process) at every scrape."""

    def __init__(self, registry: CollectorRegistry,
                 others: Callable[[], Iterable[Family]]) -> None:
        super().__init__(auto_describe=False)
        self._registry = registry
        self._others = others

    def collect(self) -> Iterable[Metric]:
        return merge(self._registry.collect(), self._others())
