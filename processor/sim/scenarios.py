"""Deterministic Genesys traffic for a seed: the sessions of a plan, as the bridge, the data
actions and the API deliver them, interleaved the way many concurrent customers interleave.

Two clocks, on purpose. *Simulated time* (``eventTime``, ``timestamp``, ISO times in bodies) is
realistic: agents answer in seconds, customers come back minutes or days later. *Emission order*
is compressed: a customer who returns "two days later" returns a few hundred records later, so a
run of minutes covers days of behaviour. Returns stay inside the session TTL (72 h) so the final
status never depends on when a timer happened to run.

Everything random comes from one ``random.Random(seed)``, ids included, so the same seed and
start time give byte-identical output.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from processor.sim import genesys as g
from processor.sim.plan import ConversationPlan, SessionPlan, SnapshotPlan, Topic

__all__ = ["KINDS", "SimConfig", "SimRecord", "Simulation"]

# Session kinds and their weights: what a contact centre's mix roughly looks like.
KINDS: dict[str, float] = {
    "messaging": 0.36,
    "legacy": 0.18,
    "transfer": 0.12,
    "returning": 0.16,
    "two_tabs": 0.08,
    "orphan": 0.10,
}
INTENTS = ("billing", "order_status", "technical_support", "returns", "account_access", "delivery")
AGENT_LINES = (
    "Thanks for waiting, I have your order in front of me.",
    "Let me check that for you.",
    "I have updated the delivery address.",
    "Your refund has been issued; allow 3-5 business days.",
    "Is there anything else I can help with?",
)
# Synthetic values only: well-known test card numbers and reserved example domains.
PII_LINES = (
    "my card is 4111 1111 1111 1111, can you check the charge?",
    "the card ending is wrong, it should be 5555555555554444",
    "please email the receipt to jane.doe@example.com",
    "you can reach me at customer.care.test@example.org",
)
CUSTOMER_DISCONNECTS = ("client", "client", "client", "inactivity", "session.expired")


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    start: datetime = datetime(2026, 1, 1)  # callers pass an aware time; see check()
    sessions: int | None = 100
    target_events: int | None = None  # generate sessions until this many records exist
    malformed_share: float = 0.01
    eventbridge_share: float = 0.10
    heartbeat_share: float = 0.02
    pii_share: float = 0.08  # of snapshots
    closed_share: float = 0.05  # of sessions
    retried_snapshot_share: float = 0.03

    def check(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        if self.sessions is None and self.target_events is None:
            raise ValueError("give sessions or target_events")
        for name in ("malformed_share", "eventbridge_share", "heartbeat_share", "pii_share"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")


@dataclass(frozen=True)
class SimRecord:
    """One record for one input topic. ``value`` is the exact bytes to produce."""

    topic: Topic
    key: str | None
    value: bytes
    kind: str  # genesys, snapshot, command, heartbeat, malformed
    session: int | None = None  # the plan index it belongs to (None: heartbeat, malformed)
    sim_id: str | None = None  # snapshots: SnapshotPlan.sim_id

    def ndjson(self) -> dict[str, Any]:
        try:
            value: Any = json.loads(self.value)
            raw = False
        except ValueError:
            value, raw = self.value.decode("utf-8", "replace"), True
        line: dict[str, Any] = {"topic": self.topic.value, "key": self.key, "value": value}
        if raw:
            line["raw"] = True  # not JSON on purpose: send the string's bytes as they are
        return line


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass(order=True)
class _Timed:
    tick: float
    seq: int
    record: SimRecord = field(compare=False)


class Simulation:
    """Iterate :meth:`records`; afterwards :attr:`plans` holds every session's plan and
    :attr:`counts` the number of records per kind."""

    def __init__(self, config: SimConfig) -> None:
        config.check()
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - simulation, not security
        self.plans: list[SessionPlan] = []
        self.counts: dict[str, int] = {}
        self.totals: dict[int, int] = {}  # records per session index, extras included
        self._seq = 0

    # --- ids and times -------------------------------------------------------------------------

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _secs(self, lo: float, hi: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(lo, hi), 3))

    # --- the merge -----------------------------------------------------------------------------

    def records(self) -> Iterator[SimRecord]:
        cfg = self.config
        heap: list[_Timed] = []
        produced = 0
        index = 0
        while True:
            if cfg.sessions is not None and index >= cfg.sessions:
                break
            if cfg.target_events is not None and produced >= cfg.target_events:
                break
            start_tick = float(index)
            timed = self._session(index, start_tick)
            self.totals[index] = len(timed)
            while heap and heap[0].tick < start_tick:
                yield self._emit(heapq.heappop(heap))
            for t in timed:
                heapq.heappush(heap, t)
            produced += len(timed)
            index += 1
        while heap:
            yield self._emit(heapq.heappop(heap))

    def _emit(self, t: _Timed) -> SimRecord:
        self.counts[t.record.kind] = self.counts.get(t.record.kind, 0) + 1
        return t.record

    # --- one session ---------------------------------------------------------------------------

    def _session(self, index: int, start_tick: float) -> list[_Timed]:
        rng = self.rng
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        psid = self._uuid()
        customer = hashlib.sha256(f"sim-customer-{self.config.seed}-{index}".encode()).hexdigest()
        plan = SessionPlan(index, psid, customer, kind)
        plan.closed = rng.random() < self.config.closed_share and kind != "two_tabs"
        legacy = kind == "legacy" or (kind == "transfer" and rng.random() < 0.3)
        plan.pii_in_attributes = legacy and rng.random() < 0.1
        t = self.config.start + timedelta(seconds=index * 3) + self._secs(0, 2)

        convs: list[ConversationPlan] = []
        if kind == "returning":
            for n in range(rng.choice((2, 2, 3))):
                c = self._conversation(legacy, t, ends=True, transfers=0)
                convs.append(c)
                assert c.end is not None
                # Minutes or (time-compressed) days later, always inside the 72 h TTL.
                gap = self._secs(300, 5400) if rng.random() < 0.6 else self._secs(86400, 216000)
                t = c.end + gap
                if n == 1 and rng.random() < 0.5:
                    break
            convs[-1].ends = rng.random() < 0.8
        elif kind == "two_tabs":
            first = self._conversation(legacy, t, ends=False, transfers=0)
            second = self._conversation(legacy, t + self._secs(20, 120), ends=False, transfers=0)
            second.tab = 2
            convs = [first, second]
        elif kind == "orphan":
            c = self._conversation(legacy, t, ends=False, transfers=0)
            c.data_action = False
            convs = [c]
        else:
            transfers = rng.choice((1, 1, 2)) if kind == "transfer" else 0
            convs = [self._conversation(legacy, t, ends=rng.random() < 0.8, transfers=transfers)]
        for c in convs:
            if not c.ends:
                c.end, c.disconnect_type = None, None
        plan.conversations = convs
        self.plans.append(plan)

        events: list[tuple[datetime, int, SimRecord]] = []
        order = 0
        for c in convs:
            for at, rec in self._conversation_records(plan, c):
                events.append((at, order, rec))
                order += 1
            for at, rec in self._snapshot_records(plan, c):
                events.append((at, order, rec))
                order += 1
        events.sort(key=lambda e: (e[0], e[1]))
        if plan.closed:
            last = events[-1][0] + self._secs(5, 60)
            events.append((last, order, self._close(plan, last)))
        return self._timed(events, start_tick)

    def _timed(self, events: list[tuple[datetime, int, SimRecord]], tick: float) -> list[_Timed]:
        """Emission order for the session's records, with heartbeats and malformed records
        sprinkled in (extra records: they never change a session's expected outcome)."""
        cfg, rng = self.config, self.rng
        out: list[_Timed] = []
        prev: datetime | None = None
        for at, _, rec in events:
            gap = (at - prev).total_seconds() if prev else 0.0
            tick += rng.uniform(0.3, 1.5) + (20.0 if gap > 3600 else 0.0)
            prev = at
            if rec.topic is Topic.GENESYS and rng.random() < cfg.eventbridge_share:
                wrapped = g.eventbridge(json.loads(rec.value), self._uuid(), at)
                rec = SimRecord(rec.topic, rec.key, _dumps(wrapped), rec.kind, rec.session)
            out.append(self._push(tick, rec))
            if rng.random() < cfg.heartbeat_share:
                beat = SimRecord(
                    Topic.GENESYS, None, _dumps(g.heartbeat(self._uuid())), "heartbeat"
                )
                out.append(self._push(tick + 0.01, beat))
            if rng.random() < cfg.malformed_share:
                out.append(self._push(tick + 0.02, self._malformed(rec)))
        return out

    def _push(self, tick: float, rec: SimRecord) -> _Timed:
        self._seq += 1
        return _Timed(tick, self._seq, rec)

    # --- conversations -------------------------------------------------------------------------

    def _conversation(
        self, legacy: bool, start: datetime, *, ends: bool, transfers: int
    ) -> ConversationPlan:
        c = ConversationPlan(self._uuid(), legacy, self._uuid(), start, ends, transfers=transfers)
        c.end = start + self._secs(240, 1500) + timedelta(minutes=4 * transfers)
        c.disconnect_type = self.rng.choice(CUSTOMER_DISCONNECTS)
        return c

    def _conversation_records(
        self, plan: SessionPlan, c: ConversationPlan
    ) -> list[tuple[datetime, SimRecord]]:
        rng = self.rng
        media, array = ("chat", "chats") if c.legacy else ("message", "messages")
        variant: g.Variant = rng.choice(("plain", "chats") if c.legacy else ("plain", "messages"))
        extra: tuple[tuple[str, str], ...] = ()
        if plan.pii_in_attributes:
            extra = (("email", f"customer.{plan.index}@example.com"),)
        ctx = g.CustomerContext(
            plan.persistent_session_id, plan.customer_id_hashed, c.legacy, extra
        )
        cust = g.Leg(self._uuid(), "customer", "connected", c.start, c.start,
                     attributes=ctx.attributes())
        acd = g.Leg(self._uuid(), "acd", "connected", c.start, c.start, queue_id=c.queue_id)
        out: list[tuple[datetime, SimRecord]] = []
        corr = self._uuid()

        def notify(at: datetime, legs: list[g.Leg]) -> None:
            env = g.queue_conversation(c.queue_id, c.conversation_id, legs, variant, array, corr)
            out.append((at, self._genesys(plan, c, env)))

        def detail(at: datetime, event: str, leg: g.Leg, disconnect: str | None = None) -> None:
            env = g.detail_event(
                c.conversation_id, event, at, leg.participant_id, media, corr,
                disconnect_type=disconnect, queue_id=leg.queue_id, user_id=leg.user_id,
            )
            out.append((at, self._genesys(plan, c, env)))

        t = c.start
        notify(t, [cust, acd])
        detail(t, "customer.start", cust)
        detail(t + timedelta(milliseconds=200), "acd.start", acd)
        t += self._secs(10, 90)
        agent = g.Leg(self._uuid(), "agent", "alerting", t, user_id=self._uuid(),
                      queue_id=c.queue_id)
        acd_done = g.Leg(acd.participant_id, "acd", "disconnected", acd.start, acd.connected, t,
                         "transfer", queue_id=c.queue_id)
        notify(t, [cust, acd_done, agent])
        detail(t, "acd.end", acd, "transfer")
        t += self._secs(3, 15)
        agent = g.Leg(agent.participant_id, "agent", "connected", agent.start, t,
                      user_id=agent.user_id, queue_id=c.queue_id)
        notify(t, [cust, acd_done, agent])
        detail(t, "user.start", agent)
        legs_done = [acd_done]
        for _ in range(c.transfers):
            t += self._secs(60, 200)
            done = g.Leg(agent.participant_id, "agent", "disconnected", agent.start,
                         agent.connected, t, "transfer", agent.user_id, c.queue_id)
            nxt = g.Leg(self._uuid(), "agent", "connected", t, t + self._secs(2, 10),
                        user_id=self._uuid(), queue_id=c.queue_id)
            detail(t, "user.end", agent, "transfer")
            legs_done.append(done)
            notify(t + timedelta(seconds=1), [cust, *legs_done, nxt])
            detail(t + timedelta(seconds=1), "user.start", nxt)
            agent = nxt
        if c.ends and c.end is not None:
            end = max(c.end, t + timedelta(seconds=30))
            c.end = end
            cust_end = g.Leg(cust.participant_id, "customer", "disconnected", cust.start,
                             cust.connected, end, c.disconnect_type, attributes=ctx.attributes())
            agent_end = g.Leg(agent.participant_id, "agent", "disconnected", agent.start,
                              agent.connected, end, "peer", agent.user_id, c.queue_id)
            notify(end, [cust_end, *legs_done, agent_end])
            detail(end, "customer.end", cust, c.disconnect_type)
            detail(end + timedelta(milliseconds=300), "user.end", agent, "peer")
            detail(end + self._secs(5, 40), "acw", agent)
        return out

    def _genesys(self, plan: SessionPlan, c: ConversationPlan, env: dict[str, Any]) -> SimRecord:
        return SimRecord(Topic.GENESYS, str(c.conversation_id), _dumps(env), "genesys", plan.index)

    # --- snapshots and commands ----------------------------------------------------------------

    def _snapshot_records(
        self, plan: SessionPlan, c: ConversationPlan
    ) -> list[tuple[datetime, SimRecord]]:
        if not c.data_action:
            return []
        rng, out = self.rng, []
        n = rng.choice((1, 2, 3, 3, 4))
        span = ((c.end or c.start + timedelta(minutes=10)) - c.start).total_seconds()
        offsets = sorted(rng.uniform(40, max(45.0, span - 5)) for _ in range(n))
        intent = rng.choice(INTENTS)
        used = {sp.at for sp in plan.snapshots}
        for off in offsets:
            at = c.start + timedelta(milliseconds=round(off * 1000))
            while at in used:  # distinct timestamps: "the latest" never depends on arrival
                at += timedelta(milliseconds=1)
            used.add(at)
            steps = len(plan.snapshots) + 1
            state: dict[str, Any] = {
                "intent": intent,
                "stepsCompleted": str(steps) if rng.random() < 0.1 else steps,
                "lastAgentMessage": rng.choice(AGENT_LINES),
                "channel": "webchat" if c.legacy else "webmessaging",
                "simId": f"{plan.persistent_session_id}:{steps}",
            }
            if rng.random() < self.config.pii_share:
                state["lastCustomerMessage"] = rng.choice(PII_LINES)
            ts: Any = g.iso(at) if rng.random() < 0.85 else str(g.epoch_ms(at))
            body: dict[str, Any] = {
                "persistentSessionId": str(plan.persistent_session_id),
                "conversationId": str(c.conversation_id),
                "timestamp": ts,
                "stateSnapshot": state,
                "customProperties": {
                    "customerIdHashed": plan.customer_id_hashed,
                    "locale": "en-US",
                    "flowVersion": "12",
                },
            }
            retried = rng.random() < self.config.retried_snapshot_share
            sp = SnapshotPlan(state["simId"], c.conversation_id, at, intent, steps, body, retried)
            plan.snapshots.append(sp)
            rec = SimRecord(Topic.SNAPSHOTS, str(plan.persistent_session_id), _dumps(body),
                            "snapshot", plan.index, sp.sim_id)
            out.append((at, rec))
            if retried:  # the flow's retry after a data-action timeout: the same body again
                out.append((at + timedelta(seconds=5), rec))
        return out

    def _close(self, plan: SessionPlan, at: datetime) -> SimRecord:
        cmd = {
            "id": str(self._uuid()),
            "schemaVersion": 1,
            "persistentSessionId": str(plan.persistent_session_id),
            "issuedAt": g.iso(at),
            "command": {"type": "close_session", "reason": "customer_signed_out",
                        "requestedBy": "api"},
        }
        key = str(plan.persistent_session_id)
        return SimRecord(Topic.COMMANDS, key, _dumps(cmd), "command", plan.index)

    # --- malformed -----------------------------------------------------------------------------

    def _malformed(self, near: SimRecord) -> SimRecord:
        """A broken record next to a real one: the pipeline must dead-letter it and carry on."""
        how = self.rng.choice(("truncated", "no_conversation_id", "not_an_object", "snapshot"))
        if how == "truncated":
            return SimRecord(near.topic, near.key, near.value[: len(near.value) // 2], "malformed")
        if how == "not_an_object":
            return SimRecord(Topic.GENESYS, near.key, b'["not", "an", "envelope"]', "malformed")
        if how == "snapshot":
            body = {"conversationId": str(self._uuid()), "stateSnapshot": {"intent": "billing"}}
            return SimRecord(Topic.SNAPSHOTS, None, _dumps(body), "malformed")
        env = g.detail_event(self._uuid(), "customer.start", self.config.start, self._uuid(),
                             "message", self._uuid())
        del env["eventBody"]["conversationId"]
        env["topicName"] = "v2.detail.events.conversation..customer.start"
        return SimRecord(Topic.GENESYS, None, _dumps(env), "malformed")
