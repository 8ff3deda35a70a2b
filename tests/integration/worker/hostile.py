"""Hostile records for the worker's three inputs, interleaved with ordinary ones on the same
partitions: the corpus of the fuzz suite (``test_hostile_records.py``).

Seeded and reproducible: ``corpus(seed, ...)`` gives the same records for the same seed (only
the timestamps follow the clock, so sessions are not expired on arrival). Every record names its
class and the outcomes it may have (dead-lettered, applied, skipped: a Genesys topic chatstate
does not track). Hostile bodies name sessions of their own; their Kafka keys are the ordinary
records' keys, so they share the ordinary records' partitions. Every PII value planted is in
``Corpus.plants``."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from processor.sim.genesys import iso
from tests.integration.worker.harness import CUSTOMER_HASH, conversation_event, snapshot_body
from tests.integration.worker.pii_plant import Plants

__all__ = ["CLASSES", "Corpus", "Rec", "corpus"]

CONV, SNAP, CMD = "genesys.conversations", "chat.snapshots", "chat.session-commands"
DEAD, APPLIED, SKIPPED = "dead", "applied", "skipped"
ANY = frozenset({DEAD, APPLIED})
ONLY_DEAD = frozenset({DEAD})
_MB = 1_000_000  # a value of ~1 MB: the broker's 1 MiB record limit leaves room for the rest
_WRONG: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], {}, [1], {"a": 1}, "\u0000"]


@dataclass(frozen=True)
class Rec:
    logical: str
    key: bytes | None
    value: bytes
    klass: str
    allowed: frozenset[str] = ANY
    headers: tuple[tuple[str, bytes], ...] = ()
    reasons: frozenset[str] = frozenset()  # when dead-lettered, one of these (empty: any)


@dataclass
class Corpus:
    seed: int
    records: list[Rec]  # in production order
    ordinary: list[Rec]
    hostile: list[Rec]
    latest: dict[uuid.UUID, tuple[int, datetime]]  # session -> (stepsCompleted, timestamp)
    ordinary_conversations: dict[uuid.UUID, uuid.UUID]  # conversation -> session
    big_session: uuid.UUID
    big_conversations: int
    plants: Plants


@dataclass
class Gen:
    rng: random.Random
    plants: Plants
    at: datetime
    session_keys: list[bytes] = field(default_factory=list)
    conversation_keys: list[bytes] = field(default_factory=list)

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def event(self, conv: uuid.UUID, psid: uuid.UUID, state: str) -> dict[str, Any]:
        body = conversation_event(conv, psid, state, self.at)
        body["metadata"]["CorrelationId"] = str(self.new_id())  # the harness draws a random one
        return body

    def key(self, logical: str) -> bytes:
        return self.rng.choice(self.conversation_keys if logical == CONV else self.session_keys)

    def body(self, logical: str) -> dict[str, Any]:
        """A valid body of ``logical`` for a session of its own."""
        if logical == SNAP:
            return snapshot_body(self.new_id(), self.new_id(), self.at, self.rng.randrange(10))
        if logical == CONV:
            return self.event(self.new_id(), self.new_id(), "connected")
        return {
            "id": str(self.new_id()),
            "schemaVersion": 1,
            "persistentSessionId": str(self.new_id()),
            "issuedAt": iso(self.at),
            "command": {"type": "close_session", "reason": "requested", "requestedBy": "api"},
        }

    def rec(self, logical: str, value: bytes | dict[str, Any], klass: str, **kw: Any) -> Rec:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        kw.setdefault("key", self.key(logical))
        return Rec(logical, value=raw, klass=klass, **kw)


def _at(body: Any, path: str) -> tuple[Any, str | int]:
    """The container holding ``path``'s last step, and that step (dots; digits index lists)."""
    steps: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
    for step in steps[:-1]:
        body = body[step]
    return body, steps[-1]


def _attrs(body: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = body["eventBody"]["participants"][0]["attributes"]
    return attrs


def _extras(g: Gen, logical: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(a valid body, the mapping where that input carries free-form keys)."""
    body = g.body(logical)
    if logical == SNAP:
        return body, body["customProperties"]
    if logical == CONV:
        return body, _attrs(body)
    return body, body["command"]


_FIELDS = {
    SNAP: [
        "persistentSessionId",
        "conversationId",
        "timestamp",
        "stateSnapshot",
        "stateSnapshot.intent",
        "stateSnapshot.stepsCompleted",
        "stateSnapshot.lastAgentMessage",
        "customProperties",
        "customProperties.customerIdHashed",
    ],
    CONV: [
        "topicName",
        "version",
        "eventBody",
        "eventBody.id",
        "eventBody.participants",
        "eventBody.participants.0",
        "eventBody.participants.0.state",
        "eventBody.participants.0.purpose",
        "eventBody.participants.0.attributes",
        "eventBody.participants.0.attributes.persistentSessionId",
        "eventBody.participants.0.connectedTime",
        "eventBody.participants.0.queue",
        "metadata",
    ],
    CMD: [
        "id",
        "schemaVersion",
        "persistentSessionId",
        "issuedAt",
        "command",
        "command.type",
        "command.reason",
        "command.requestedBy",
    ],
}


# --- the classes: each returns one or more records of every input it applies to --------------


def invalid_utf8(g: Gen, t: str) -> list[Rec]:
    text = json.dumps(g.body(t))
    raw = b'{"note": "\xff\xfe\xc3\x28 ' + g.plants.email().encode() + b'", ' + text[1:].encode()
    return [g.rec(t, raw, "invalid_utf8", allowed=ONLY_DEAD)]


def not_json(g: Gen, t: str) -> list[Rec]:
    junk = g.rng.choice([b"{not json ", b"", b"\x00\x01", b"{'a': 1}", b'{"a": 1', b"NaN"])
    return [g.rec(t, junk + b" " + g.plants.card().encode(), "not_json", allowed=ONLY_DEAD)]


def json_scalar(g: Gen, t: str) -> list[Rec]:
    value = g.rng.choice([b"42", b"null", b"true", b"[1, 2]", b"[]", b"-0.5e3"])
    as_text = json.dumps(g.plants.ssn()).encode()
    return [
        g.rec(t, value, "json_scalar", allowed=ONLY_DEAD),
        g.rec(t, as_text, "json_scalar", allowed=ONLY_DEAD),
    ]


def deep_nesting(g: Gen, t: str) -> list[Rec]:
    depth = g.rng.randrange(2_000, 5_000)
    whole = ("[" * depth + json.dumps(g.plants.email()) + "]" * depth).encode()
    body, free = _extras(g, t)
    free["deep"] = "__DEEP__"
    nested = '{"a":' * depth + json.dumps(g.plants.card()) + "}" * depth
    inner = json.dumps(body).replace('"__DEEP__"', nested).encode()
    return [g.rec(t, whole, "deep_nesting", allowed=ONLY_DEAD), g.rec(t, inner, "deep_nesting")]


def huge_numbers(g: Gen, t: str) -> list[Rec]:
    big = "9" * 4_999 + "7"  # not random digits: they would hold planted values by chance
    path = {SNAP: "timestamp", CONV: "eventBody.participants.0.connectedTime", CMD: "issuedAt"}[t]
    out = []
    for number in ["99999999999999999999", big, "1e400", "-99999999999999999999"]:
        body = g.body(t)
        holder, step = _at(body, path)
        holder[step] = "__BIG__"
        out.append(g.rec(t, json.dumps(body).replace('"__BIG__"', number).encode(), "huge_numbers"))
    body, free = _extras(g, t)
    free["amount"] = "__BIG__"
    out.append(g.rec(t, json.dumps(body).replace('"__BIG__"', big).encode(), "huge_numbers"))
    return out


def nul_and_surrogates(g: Gen, t: str) -> list[Rec]:
    out = []
    for bad in ["a\u0000b", "\ud800", "x\udfff\u0000", "\ud83d"]:
        body, free = _extras(g, t)
        free["note" if t != CMD else "reason"] = f"{bad} {g.plants.phone()}"
        out.append(g.rec(t, body, "nul_and_surrogates"))
    raw = json.dumps(g.body(t)).replace('"', '"\x00', 1).encode()  # a raw NUL byte
    return [*out, g.rec(t, raw, "nul_and_surrogates")]


def trailing_newlines(g: Gen, t: str) -> list[Rec]:
    body = g.body(t)
    if t == SNAP:
        body["customProperties"]["customerIdHashed"] = CUSTOMER_HASH + "\n"
        other = g.body(t)
        other["persistentSessionId"] += "\n"
    elif t == CONV:
        _attrs(body)["customerIdHashed"] = CUSTOMER_HASH + "\n"
        other = g.body(t)
        _attrs(other)["persistentSessionId"] += "\n"
    else:
        body["persistentSessionId"] += "\n"
        other = g.body(t)
        other["id"] += "\r\n"
    return [g.rec(t, body, "trailing_newlines"), g.rec(t, other, "trailing_newlines")]


def duplicate_keys(g: Gen, t: str) -> list[Rec]:
    body = g.body(t)
    field_ = {SNAP: "persistentSessionId", CONV: "topicName", CMD: "persistentSessionId"}[t]
    text = json.dumps(body)
    dup = json.dumps(str(g.new_id()) if t != CONV else "v2.users.x.presence")
    raw = "{" + f'"{field_}": {dup}, "{field_}": {dup}, "note": 1, "note": '
    raw += json.dumps(g.plants.email()) + ", " + text[1:]
    return [g.rec(t, raw.encode(), "duplicate_keys", allowed=ANY | {SKIPPED})]


def long_keys_and_values(g: Gen, t: str) -> list[Rec]:
    body, free = _extras(g, t)
    free["k" * 5_000] = g.plants.card()
    long_value, big_free = _extras(g, t)
    big_free["note"] = "y" * (_MB - 40_000) + g.plants.email()
    return [
        g.rec(t, body, "long_keys_and_values:key"),
        g.rec(t, long_value, "long_keys_and_values:value"),
    ]


def many_attributes(g: Gen, t: str) -> list[Rec]:
    body, free = _extras(g, t)
    for i in range(g.rng.randrange(3_000, 6_000)):
        free[f"attr{i}"] = str(i)
    free["attr_pii"] = g.plants.any()
    return [g.rec(t, body, "many_attributes")]


def unknown_topics(g: Gen, t: str) -> list[Rec]:
    body = g.body(t)
    if t == CONV:
        body["topicName"] = g.rng.choice(
            [
                "v2.users.x.presence",
                "",
                "v2.routing.queues.q.conversations.unknown",
                "\u0000",
                "v2.detail.events.conversation.x.nonsense",
            ]
        )
        return [g.rec(t, body, "unknown_topics", allowed=frozenset({DEAD, SKIPPED}))]
    if t == CMD:
        body["command"] = {"type": g.rng.choice(["explode", "", "CLOSE_SESSION"]), "x": 1}
    else:
        body["stateSnapshot"] = {"topicName": "v2.users.x.presence"}
        body["persistentSessionId"] = "v2.users.x.presence"
    return [g.rec(t, body, "unknown_topics", allowed=ONLY_DEAD)]


def wrong_types(g: Gen, t: str) -> list[Rec]:
    out = []
    for path in g.rng.sample(_FIELDS[t], 4):
        body = g.body(t)
        holder, step = _at(body, path)
        holder[step] = g.rng.choice(_WRONG)
        out.append(g.rec(t, body, "wrong_types", allowed=ANY | {SKIPPED} if t == CONV else ANY))
    return out


def pii_everywhere(g: Gen, t: str) -> list[Rec]:
    """PII in values, mapping keys, numbers, headers and record keys; otherwise valid."""
    p = g.plants
    body, free = _extras(g, t)
    free.update(
        {
            "note": f"card {p.card()}, ssn {p.ssn()}",
            "contactPhone": p.phone(True),
            "ssn": p.ssn(dashed=False),
            "iban": p.iban(),
            p.card_digits("as_key"): "1",
            "e-mail": p.email(),
            "cardNumber": "__NUM__",
        }
    )
    if t == SNAP:
        body["stateSnapshot"]["lastAgentMessage"] = f"call {p.phone()} or mail {p.email()}"
        body["stateSnapshot"]["intent"] = p.email()
    elif t == CONV:
        body["metadata"]["CorrelationId"] = p.email()
        body["eventBody"]["participants"][0]["name"] = p.phone()
    else:
        body["command"]["requestedBy"] = p.email()
        body["command"]["reason"] = f"customer gave card {p.card()} and {p.phone()}"
    raw = json.dumps(body).replace('"__NUM__"', p.card_digits("json_number")).encode()
    headers = (
        (f"x-card-{p.card_digits('header_name')}", p.card().encode()),
        ("x-mail", p.email().encode()),
        (
            "chatstate-pii-findings",
            json.dumps([{"path": f"$.customProperties.{p.email()}", "kind": "x"}]).encode(),
        ),
    )
    return [
        g.rec(t, raw, "pii_everywhere", headers=headers),
        g.rec(t, g.body(t), "pii_everywhere:record_key", key=p.any().encode()),
    ]


def pii_rejected(g: Gen, t: str) -> list[Rec]:
    """A card number where the policy wants a token: the snapshot must be refused."""
    if t != SNAP:
        return []
    p, out = g.plants, []
    for name, value in [
        ("paymentToken", p.card_digits()),
        ("PaymentToken", p.card()),
        ("paymentToken", {"value": p.card()}),
        ("CARDTOKEN", p.card()),
        ("cardToken", "__NUM__"),
    ]:
        body = g.body(SNAP)
        body["customProperties"][name] = value
        raw = json.dumps(body).replace('"__NUM__"', p.card_digits("json_number")).encode()
        out.append(
            g.rec(SNAP, raw, "pii_rejected", allowed=ONLY_DEAD, reasons=frozenset({"pii_rejected"}))
        )
    return out


Builder = Callable[[Gen, str], list[Rec]]
CLASSES: dict[str, tuple[Builder, bool]] = {  # name -> (builder, heavy: at most once per seed)
    "invalid_utf8": (invalid_utf8, False),
    "not_json": (not_json, False),
    "json_scalar": (json_scalar, False),
    "deep_nesting": (deep_nesting, False),
    "huge_numbers": (huge_numbers, False),
    "nul_and_surrogates": (nul_and_surrogates, False),
    "trailing_newlines": (trailing_newlines, False),
    "duplicate_keys": (duplicate_keys, False),
    "long_keys_and_values": (long_keys_and_values, True),
    "many_attributes": (many_attributes, True),
    "unknown_topics": (unknown_topics, False),
    "wrong_types": (wrong_types, False),
    "pii_everywhere": (pii_everywhere, False),
    "pii_rejected": (pii_rejected, False),
}


def corpus(
    seed: int, start: datetime, *, sessions: int, hostile: int, big: int, only: set[str] | None
) -> Corpus:
    """``sessions`` ordinary sessions (an event and three snapshots each), about ``hostile``
    hostile records of the classes in ``only`` (all when None) on every input, and a session of
    ``big`` conversations (its published state would pass the 1 MiB record limit)."""
    rng = random.Random(seed)
    g = Gen(rng, Plants(random.Random(seed + 1)), start)
    streams: list[list[Rec]] = []
    latest, conversations = {}, {}
    for i in range(sessions):
        psid, conv = g.new_id(), g.new_id()
        conversations[conv] = psid
        g.session_keys.append(str(psid).encode())
        g.conversation_keys.append(str(conv).encode())
        stream = [
            g.rec(
                CONV,
                g.event(conv, psid, "connected"),
                "ordinary",
                key=str(conv).encode(),
                allowed=frozenset({APPLIED}),
            )
        ]
        for step in (1, 2, 3):
            at = start + timedelta(seconds=10 * step + i % 7)
            stream.append(
                g.rec(
                    SNAP,
                    snapshot_body(psid, conv, at, step),
                    "ordinary",
                    key=str(psid).encode(),
                    allowed=frozenset({APPLIED}),
                )
            )
        latest[psid] = (3, at)
        streams.append(stream)
    ordinary = [r for s in streams for r in s]
    names = [n for n in CLASSES if only is None or n in only]
    bad: list[Rec] = []
    round_ = 0
    while names and len(bad) < hostile:
        if round_ > 0:  # heavy classes appear once per seed
            names = [n for n in names if not CLASSES[n][1]]
        for name in names:
            builder, _ = CLASSES[name]
            g.plants.klass = name
            for t in (CONV, SNAP, CMD):
                bad.extend(builder(g, t))
        round_ += 1
    big_psid = g.new_id()
    if only is None or "big_session" in only:
        for _ in range(big):
            conv = g.new_id()
            bad.append(
                g.rec(
                    CONV,
                    g.event(conv, big_psid, "disconnected"),
                    "big_session",
                    key=str(conv).encode(),
                    allowed=ANY,
                )
            )
    streams += [[r] for r in bad]
    records: list[Rec] = []
    for s in streams:
        s.reverse()
    while streams:  # a random interleaving that keeps each session's own order
        i = rng.randrange(len(streams))
        records.append(streams[i].pop())
        if not streams[i]:
            streams[i] = streams[-1]
            streams.pop()
    return Corpus(
        seed,
        records,
        ordinary,
        bad,
        latest,
        conversations,
        big_psid,
        big if only is None or "big_session" in only else 0,
        g.plants,
    )
