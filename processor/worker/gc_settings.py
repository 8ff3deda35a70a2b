"""The worker's garbage-collector settings: fewer, cheaper collections on the hot path.

Why (issue 14): every update allocates dozens of GC-tracked objects (pydantic models, their
field dicts, lists), so CPython's default young-generation threshold (700 allocations) runs a
collection every few records, and each full collection walks every object the process holds,
imports included. Measured in-process: a stage-2 decode loop went from 11.5 to 9.8 µs per update
with these settings, the same as with the collector off; the worker's figures are in
docs/operations-bench.md. Nothing here turns the collector off: reference cycles are still
found, a few times less often.
"""

from __future__ import annotations

import gc

__all__ = ["tune_gc"]

# Young generation collected every 50,000 net allocations (default 700); the older two as usual.
THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Call once, after imports and start-up: what exists now (modules, settings, compiled
    schemas) is moved out of the collector's sight for good, and collections become rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
