"""How fast the PII guard is on what it really sees, on one core.

Not a test: timings depend on the machine. The guard runs on every persisted snapshot (``scan``
in the API, about a tenth of a persist request's CPU) and on every string of every log line
(``redact_text`` in ``processor/logs.py``). Two figures, each on a fixed, seeded mix:

- ``scan``: data-action snapshots as the simulator and the API benchmark post them (intent,
  steps, an agent line, ids, custom properties; 8% carry a customer line with PII, a quarter a
  customer line full of order numbers, prices and dates);
- ``redact_text``: the strings log lines carry (event names, routes with ids, client names,
  error texts, timestamps, agent lines).

``--baseline REV`` also times ``processor/core/pii.py`` as it was at a git revision (loaded from
``git show``; the single-module guard, e.g. 80cbad7, the guard before issue 12), the two taking
turns on the same inputs, and prints the ratio. Times are CPU time, best of ``--repeat``.

    .venv/bin/python benchmarks/pii_bench.py [--docs 20000] [--repeat 5] [--baseline 80cbad7]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

AGENT = (
    "Thanks for waiting, I have your order in front of me.",
    "Let me check that for you.",
    "Your refund has been issued; allow 3-5 business days.",
    "Is there anything else I can help with?",
)
BUSY = (
    "order 1234567 was shipped on 2024-05-01, tracking 1Z999AA10123456784",
    "I paid $19.99 twice for ticket INC0012345, ref 88231-22",
    "version 2.14.3 on 10.0.0.12 fails since 14:05, order #A-557201",
    "my order 112233445566 totals 1,234.56 and arrived 05/01/2024",
)
PII = (
    "my card is 4111 1111 1111 1111, can you check the charge?",
    "please email the receipt to jane.doe@example.com",
    "call me on +44 20 7946 0958 after 5",
    "IBAN GB82 WEST 1234 5698 7654 32 for the refund",
)
LOG_STRINGS = (
    "request",
    "snapshot_accepted",
    "POST",
    "/v1/chat-state/persist",
    "architect-data-action",
    "batch_applied",
    "partition_stalled",
    "aiokafka.consumer.fetcher",
    "uvicorn.access",
    "Heartbeat failed for group chatstate-stage1 because it is rebalancing",
    "connection to 127.0.0.1:5432 refused, retrying in 0.5 s",
)


def snapshots(n: int, rng: random.Random) -> list[dict[str, Any]]:
    docs = []
    for i in range(n):
        state: dict[str, Any] = {
            "intent": rng.choice(("billing", "delivery", "refund")),
            "stepsCompleted": rng.randrange(1, 9),
            "lastAgentMessage": rng.choice(AGENT),
            "channel": "webmessaging",
            "simId": f"{uuid.UUID(int=rng.getrandbits(128))}:{i}",
        }
        roll = rng.random()
        if roll < 0.08:
            state["lastCustomerMessage"] = rng.choice(PII)
        elif roll < 0.33:
            state["lastCustomerMessage"] = rng.choice(BUSY)
        docs.append(
            {
                "stateSnapshot": state,
                "customProperties": {
                    "customerIdHashed": f"{rng.getrandbits(256):064x}",
                    "locale": "en-US",
                    "flowVersion": "12",
                    "cartTotal": round(rng.uniform(1, 500), 2),
                },
            }
        )
    return docs


def log_strings(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.5:
            out.append(rng.choice(LOG_STRINGS))
        elif roll < 0.7:
            out.append(f"/v1/sessions/{uuid.UUID(int=rng.getrandbits(128))}/context")
        elif roll < 0.85:
            out.append(time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(rng.randrange(2**31))))
        else:
            out.append(rng.choice(AGENT + BUSY))
    return out


def _load(rev: str) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:processor/core/pii.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "pii_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("pii_baseline", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load processor/core/pii.py of {rev}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pii_baseline"] = module
    spec.loader.exec_module(module)
    return module


def measure(
    modules: list[Any], docs: list[dict[str, Any]], lines: list[str], repeat: int
) -> list[tuple[float, float]]:
    """Best of ``repeat`` rounds for each module, the modules taking turns within each round
    (on a shared machine, load that comes and goes then hits all of them alike)."""
    best = [[float("inf"), float("inf")] for _ in modules]
    for _ in range(repeat):
        for i, module in enumerate(modules):
            scan, redact_text = module.scan, module.redact_text
            t0 = time.process_time()
            for d in docs:
                scan(d)
            t1 = time.process_time()
            for s in lines:
                redact_text(s)
            t2 = time.process_time()
            best[i] = [min(best[i][0], t1 - t0), min(best[i][1], t2 - t1)]
    return [(len(docs) / a, len(lines) / b) for a, b in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", help="a git revision whose pii.py is timed too")
    args = parser.parse_args()
    rng = random.Random(12)  # noqa: S311 - a reproducible input mix, not a secret
    docs, lines = snapshots(args.docs, rng), log_strings(args.docs * 5, rng)
    from processor.core import pii

    modules: list[Any] = [pii] + ([_load(args.baseline)] if args.baseline else [])
    results = measure(modules, docs, lines, args.repeat)
    now = results[0]
    print(f"scan        {now[0]:>10,.0f} snapshots/s")
    print(f"redact_text {now[1]:>10,.0f} log strings/s")
    if args.baseline:
        then = results[1]
        print(f"baseline {args.baseline}: scan {then[0]:,.0f}/s, redact_text {then[1]:,.0f}/s")
        print(
            f"ratio (now/baseline): scan {now[0] / then[0]:.2f}, redact_text {now[1] / then[1]:.2f}"
        )


if __name__ == "__main__":
    main()
