"""Deterministic bulk traffic for the effectively-once tests: many sessions, each a small story
(start, snapshots, a second tab now and then, end), interleaved the way Kafka would see them."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta

from tests.integration.worker.harness import conversation_event, snapshot_body


def stories(sessions: int, seed: int, start: datetime) -> list[tuple[str, str | None, bytes]]:
    rng = random.Random(seed)
    per_session: list[list[tuple[str, str | None, bytes]]] = []
    for _ in range(sessions):
        psid = uuid.UUID(int=rng.getrandbits(128), version=4)
        conv = uuid.UUID(int=rng.getrandbits(128), version=4)
        t = start + timedelta(seconds=rng.randint(0, 600))
        recs: list[tuple[str, str | None, bytes]] = [
            (
                "genesys.conversations",
                str(conv),
                json.dumps(conversation_event(conv, psid, "connected", t)).encode(),
            )
        ]
        for step in range(1, rng.randint(2, 5)):
            t += timedelta(seconds=rng.randint(5, 90))
            recs.append(
                (
                    "chat.snapshots",
                    str(psid),
                    json.dumps(snapshot_body(psid, conv, t, step)).encode(),
                )
            )
        if rng.random() < 0.15:  # a second tab
            other = uuid.UUID(int=rng.getrandbits(128), version=4)
            recs.append(
                (
                    "genesys.conversations",
                    str(other),
                    json.dumps(conversation_event(other, psid, "connected", t)).encode(),
                )
            )
        t += timedelta(seconds=rng.randint(5, 90))
        recs.append(
            (
                "genesys.conversations",
                str(conv),
                json.dumps(conversation_event(conv, psid, "disconnected", t)).encode(),
            )
        )
        per_session.append(recs)
    # Interleave sessions, keeping each session's own order.
    out: list[tuple[str, str | None, bytes]] = []
    while per_session:
        i = rng.randrange(len(per_session))
        out.append(per_session[i].pop(0))
        if not per_session[i]:
            per_session.pop(i)
    return out
