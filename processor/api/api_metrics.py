"""Prometheus metrics of one API app, in a registry of its own.

A registry per app (not the global default) so tests and benchmarks can build many apps in one
process without "duplicated timeseries" errors, and ``/metrics`` shows exactly this app's numbers.
Route labels are route *templates*, never raw paths: bounded cardinality, no ids in labels.

Served by several uvicorn workers, ``chatstate api`` sets ``PROMETHEUS_MULTIPROC_DIR`` before they
start: each process then records into files there and ``/metrics``, whichever worker answers it,
adds up every worker's (prometheus_client's multiprocess mode; counters and histograms only).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["ApiMetrics", "render_every_process"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "chatstate_api_requests", "HTTP requests answered.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "chatstate_api_request_duration_seconds", "Time to answer an HTTP request.",
            ["method", "route"], buckets=_BUCKETS, registry=self.registry,
        )
        self.produce_errors = Counter(
            "chatstate_api_produce_errors", "Writes Kafka did not acknowledge in time (503s).",
            ["route"], registry=self.registry,
        )
        self.pii_findings = Counter(
            "chatstate_api_pii_findings", "PII found in posted snapshots, by kind and outcome.",
            ["kind", "outcome"], registry=self.registry,
        )
        self.sessions_issued = Counter(
            "chatstate_api_sessions_issued", "POST /v1/sessions outcomes.",
            ["outcome"], registry=self.registry,
        )
        self.token_failures = Counter(
            "chatstate_api_token_failures", "Refused client credentials.", registry=self.registry
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return render_every_process()
        return generate_latest(self.registry)


def render_every_process() -> bytes:
    """Every API process's numbers, added up from ``PROMETHEUS_MULTIPROC_DIR`` (what the ops
    port serves: it runs in the supervisor, beside the processes that count)."""
    every_worker = CollectorRegistry()
    MultiProcessCollector(every_worker)  # type: ignore[no-untyped-call]
    return generate_latest(every_worker)
