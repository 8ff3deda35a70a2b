"""How fast stage 1 turns Genesys envelopes into observations, on one core.

Not a test: timings depend on the machine. Run it and compare the two figures it prints, which
come from the same run on the same bytes: ``parse_genesys`` (envelope -> typed observation or
verdict) and plain ``json.loads`` (the floor any Python parser of these bytes pays).

    .venv/bin/python benchmarks/parse_bench.py [--records 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from processor.core.normalise import parse_genesys

_T0 = 1_714_557_600_000  # 2024-05-01T10:00:00Z in epoch ms


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def _ids(rng: random.Random) -> dict[str, str]:
    def u() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    return {k: u() for k in ("conv", "cust", "acd", "agent", "queue", "user", "psid", "corr")}


def queue_conversation(rng: random.Random) -> dict[str, Any]:
    """``v2.routing.queues.{id}.conversations``: customer, acd (ended), agent, message media."""
    i = _ids(rng)
    t = _T0 + rng.randrange(10**9)
    state = rng.choice(["alerting", "connected", "connected", "disconnected"])

    def media(st: str, ms: int) -> list[dict[str, Any]]:
        m: dict[str, Any] = {"id": str(uuid.uuid4()), "state": st, "initialState": "alerting",
                             "direction": "inbound", "held": False, "connectedTime": _iso(ms),
                             "provider": "PureCloud Messaging", "type": "webmessaging",
                             "toAddress": {"name": "Web Messaging"},
                             "fromAddress": {"name": "Guest"}}
        if st == "disconnected":
            m |= {"disconnectType": "client", "disconnectedTime": _iso(ms + 60_000)}
        return [m]

    return {
        "topicName": f"v2.routing.queues.{i['queue']}.conversations",
        "version": "2",
        "eventBody": {
            "id": i["conv"],
            "maxParticipants": 3,
            "recordingState": "none",
            "participants": [
                {"id": i["cust"], "purpose": "customer", "connectedTime": _iso(t),
                 "name": "Guest", "wrapupRequired": False, "mediaRoles": [],
                 "attributes": {"persistentSessionId": i["psid"],
                                "customerIdHashed": "ab" * 32,
                                "journeyStage": "checkout", "locale": "en-GB"},
                 "messages": media(state, t)},
                {"id": i["acd"], "purpose": "acd", "queueId": i["queue"],
                 "connectedTime": _iso(t + 100), "endTime": _iso(t + 5000),
                 "messages": media("disconnected", t + 100)},
                {"id": i["agent"], "purpose": "agent", "userId": i["user"],
                 "queueId": i["queue"], "connectedTime": _iso(t + 5000),
                 "wrapupRequired": True, "messages": media(state, t + 5000)},
            ],
        },
        "metadata": {"CorrelationId": i["corr"]},
    }


def messages_variant(rng: random.Random) -> dict[str, Any]:
    """``v2.users.{id}.conversations.messages``: state, startTime, queue on the participant."""
    i = _ids(rng)
    t = _T0 + rng.randrange(10**9)
    return {
        "topicName": f"v2.users.{i['user']}.conversations.messages",
        "version": "2",
        "eventBody": {
            "id": i["conv"],
            "participants": [
                {"id": i["cust"], "purpose": "customer", "state": "connected",
                 "direction": "inbound", "startTime": _iso(t), "connectedTime": _iso(t),
                 "held": False, "type": "webmessaging",
                 "attributes": {"persistentSessionId": i["psid"]},
                 "messages": [{"messageStatus": "delivered", "messageTime": _iso(t)}]},
                {"id": i["agent"], "purpose": "agent", "state": "connected",
                 "startTime": _iso(t + 4000), "connectedTime": _iso(t + 5000),
                 "queue": {"id": i["queue"]}, "user": {"id": i["user"]}},
            ],
        },
        "metadata": {"CorrelationId": i["corr"]},
    }


def legacy_chat(rng: random.Random) -> dict[str, Any]:
    """``v2.routing.queues.{id}.conversations.chats`` from legacy web chat (``context.`` keys)."""
    i = _ids(rng)
    t = _T0 + rng.randrange(10**9)
    return {
        "topicName": f"v2.routing.queues.{i['queue']}.conversations.chats",
        "version": "2",
        "eventBody": {
            "id": i["conv"],
            "participants": [
                {"id": i["cust"], "purpose": "customer", "state": "connected",
                 "startTime": _iso(t), "connectedTime": _iso(t),
                 "attributes": {"context.persistentSessionId": i["psid"],
                                "context.firstName": "Test", "context.customField1": "gold"}},
                {"id": i["acd"], "purpose": "acd", "state": "disconnected",
                 "disconnectType": "transfer", "startTime": _iso(t), "endTime": _iso(t + 4000),
                 "queue": {"id": i["queue"]}},
            ],
        },
        "metadata": {"CorrelationId": i["corr"]},
    }


def detail_event(rng: random.Random, *, wrapped: bool = False) -> dict[str, Any]:
    i = _ids(rng)
    event = rng.choice(["customer.start", "customer.end", "acd.start", "acd.end", "user.start",
                        "user.end", "acw", "attributes"])
    body: dict[str, Any] = {
        "eventTime": _T0 + rng.randrange(10**9), "conversationId": i["conv"],
        "participantId": i["cust"], "sessionId": i["agent"], "mediaType": "MESSAGE",
        "messageType": "WEBMESSAGING", "direction": "INBOUND", "provider": "PureCloud Messaging",
        "divisionId": i["queue"], "conversationExternalContactIds": [],
    }
    if event.endswith(".end"):
        body["disconnectType"] = rng.choice(["CLIENT", "INACTIVITY", "SESSION_EXPIRED", "ENDPOINT"])
    if event.startswith(("acd", "user")):
        body["queueId"] = i["queue"]
    if event == "attributes":
        body["attributes"] = {"persistentSessionId": i["psid"], "intent": "billing"}
    env = {"topicName": f"v2.detail.events.conversation.{i['conv']}.{event}", "version": "2",
           "eventBody": body, "metadata": {"CorrelationId": i["corr"]}}
    if wrapped:
        return {"version": "0", "id": i["corr"], "detail-type": f"v2.detail.events.{event}",
                "source": "aws.partner/genesys.com/cloud/example", "account": "000000000000",
                "time": _iso(body["eventTime"]), "region": "eu-west-1", "resources": [],
                "detail": env}
    return env


HEARTBEAT = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}

MIX: list[tuple[float, Callable[[random.Random], dict[str, Any]]]] = [
    (0.35, queue_conversation),
    (0.15, messages_variant),
    (0.05, legacy_chat),
    (0.30, detail_event),
    (0.10, lambda rng: detail_event(rng, wrapped=True)),
    (0.05, lambda rng: HEARTBEAT),
]


def corpus(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    weights = [w for w, _ in MIX]
    makers = [m for _, m in MIX]
    return [json.dumps(rng.choices(makers, weights)[0](rng)).encode() for _ in range(n)]


def rate(fn: Callable[[bytes], object], records: list[bytes], repeat: int) -> float:
    """Best of ``repeat`` passes: the least-disturbed pass is the machine's real speed."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for r in records:
            fn(r)
        best = min(best, time.perf_counter() - t0)
    return len(records) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=None, help="pin to this core (default: first)")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    records = corpus(args.records)
    verdicts = Counter(parse_genesys(r).kind for r in records)  # also warms caches
    size = sum(map(len, records)) / len(records)
    ours = rate(parse_genesys, records, args.repeat)
    floor = rate(json.loads, records, args.repeat)
    print(json.dumps({
        "records": len(records), "meanBytes": round(size), "verdicts": dict(verdicts),
        "parseGenesysPerSec": round(ours), "jsonLoadsPerSec": round(floor),
        "ratio": round(ours / floor, 3),
    }))


if __name__ == "__main__":
    main()
