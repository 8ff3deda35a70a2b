"""Raw Genesys notification bytes -> one typed verdict: an observation, a skip, or a rejection.

Stage 1 runs this on every record of ``genesys.conversations`` and ``chatstate validate`` runs it
on an integrator's capture, so beyond parsing it promises two things: it never raises (a record
it cannot read becomes a :class:`Rejected` with a stable reason code, to be dead-lettered,
instead of stopping the agent), and it never lets a PII value through (attributes that carry PII
are named in ``pii_attribute_keys``; their values are copied nowhere).

Two readers, one meaning. The wire models in :mod:`schemas.genesys` are the contract and decide
every rejection. They cost about as much as the whole budget (>= 30,000 records/s on one core),
so records are first read straight from ``json.loads``' dicts by :class:`_Reader`, which checks
the type of every field it reads and gives up (:class:`_Malformed`) on anything unexpected. A
record it gives up on is validated by the models, and the models' canonical dump is read again:
a disagreement can only cost time, never change a verdict. A property test holds them equal.

Rules (the reasons are in ``docs/contracts.md``):

- the caps of :mod:`schemas.limits` come first (record size, nesting depth: see
  :mod:`processor.core.rawjson`); the customer's attributes, which chatstate reads and whose
  keys it copies, are capped in number, key and value size (``attribute_too_large``); text
  chatstate keeps may not hold NUL (PostgreSQL refuses it); other reasons are the enum's
  ``invalid_envelope`` (the detail says which field) and ``missing_conversation_id``;
- heartbeats, socket notices and topics chatstate does not track are skipped, never errors;
- a participant's state is its own ``state`` when the topic carries one (``.chats``,
  ``.messages``), else derived from its media arrays: live if any media session is live (a
  transfer leaves an ended leg beside the live one), else ended if any ended;
- the observation's state is the customer's; a detail event's ``customer.*`` sets it; a queue or
  agent leg's ``*.start`` proves the conversation live, its ``*.end`` ends only that leg;
  ``acw`` and ``attributes`` change no state;
- ``persistentSessionId``, ``customerIdHashed`` and ``resumedFromConversationId`` are read from
  the customer's attributes under the plain key (Web Messaging) or the ``context.`` key (legacy
  web chat v2); the plain key wins when both are present.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from processor.core.pii import redact_text
from processor.core.rawjson import Refused, as_bytes, load
from schemas.dlq import DeadLetterReason
from schemas.genesys import (
    MAX_EPOCH_MS,
    MEDIA_ARRAYS,
    ConversationEventBody,
    DetailEvent,
    MediaConversationEventBody,
    NotificationEnvelope,
)
from schemas.limits import CAP_ERRORS, MAX_KEY_CHARS, MAX_KEYS, MAX_VALUE_CHARS
from schemas.observation import (
    Accepted,
    ConversationState,
    ParseResult,
    Rejected,
    Skipped,
)
from schemas.snapshot import SHA256_HEX

__all__ = [
    "DETAIL_EVENTS",
    "ENDED_STATES",
    "LIVE_STATES",
    "UNHASHED_CUSTOMER_ID",
    "inspect_genesys",
    "parse_genesys",
    "validation_detail",
]

LIVE_STATES = frozenset(
    {
        "alerting", "dialing", "contacting", "offering", "connected", "parked", "converting",
        "uploading", "transmitting", "scheduled", "held",
    }
)
ENDED_STATES = frozenset({"disconnected", "terminated"})
DETAIL_EVENTS = frozenset(
    {
        "customer.start", "customer.end", "acd.start", "acd.end", "user.start", "user.end",
        "acw", "attributes",
    }
)
UNHASHED_CUSTOMER_ID = "unhashed_customer_id"
"""Reported like a PII kind: a raw customer id where its SHA-256 digest belongs."""

_LIVE = ConversationState.LIVE
_ENDED = ConversationState.ENDED
_STATE_OF = {**dict.fromkeys(LIVE_STATES, _LIVE), **dict.fromkeys(ENDED_STATES, _ENDED)}
_DETAIL_PURPOSE = {"customer": "customer", "acd": "acd", "user": "agent", "acw": "agent"}
# Detail events spell disconnect types in upper case with words of their own; the conversation
# topics use dotted lower case. Downstream sees one vocabulary: the conversation topics'.
_DETAIL_DISCONNECT = {
    "TRANSPORT_FAILURE": "transport.failure",
    "CONFERENCE_TRANSFER": "transfer.conference",
    "CONSULT_TRANSFER": "transfer.consult",
    "FORWARD_TRANSFER": "transfer.forward",
    "NO_ANSWER_TRANSFER": "transfer.noanswer",
    "NOT_AVAILABLE_TRANSFER": "transfer.notavailable",
    "DND_ENDPOINT": "endpoint.dnd",
    "DND_TRANSFER": "transfer.dnd",
    "SESSION_EXPIRED": "session.expired",
}
_CONVERSATION_TOPIC = re.compile(
    r"v2\.(?:routing\.queues|users)\.(?P<owner>[^.]+)\.conversations(?:\.(?P<media>chats|messages))?"
)
_DETAIL_PREFIX = "v2.detail.events.conversation."
_QUEUE_PREFIX = "v2.routing.queues."
_PSID_KEYS = ("persistentSessionId", "context.persistentSessionId")
_HASH_KEYS = ("customerIdHashed", "context.customerIdHashed")
_RESUMED_KEYS = ("resumedFromConversationId", "context.resumedFromConversationId")
# Values that cannot hide PII (ids, digests) skip the scan: most attributes are such ids.
_ID_VALUE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{64}"
)
_NUL_ESCAPE = re.compile(rb"\\u0000")  # a regex: 40% faster than ``in`` on these records
_HEARTBEAT = Skipped(reason="heartbeat", topic="channel.metadata")
_SOCKET_CLOSING = Skipped(reason="socket_closing", topic="v2.system.socket_closing")
_ZERO = timedelta(0)
_STR_OR_NONE = (str, type(None))
_VERSION_TYPES = (str, int, type(None))
# The canonical spelling is passed on as text (pydantic's core makes the UUID, faster than
# uuid.UUID); other spellings uuid.UUID accepts (braces, urn:, no dashes) are parsed here.
_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def _uuid(value: str) -> str | uuid.UUID:
    """The value as a UUID pydantic accepts; ``ValueError`` when it is none."""
    return value if _CANONICAL_UUID.fullmatch(value) else uuid.UUID(value)
_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
# Every field the wire models type-check is checked by the fast reader too, read or not, so a
# record the models would reject never slips through the fast path.
_SESSION_STRS = ("id", "initialState", "direction", "disconnectType")
_PARTICIPANT_STRS = ("id", "purpose", "queueId", "userId")
_MEDIA_PARTICIPANT_STRS = ("initialState", "direction")
_DETAIL_STRS = ("sessionId", "messageType", "direction")

# Kinds of body, and the wire model that is the contract for each.
_CONVERSATION, _MEDIA, _DETAIL = "conversation", "media", "detail"
_MODEL_OF: dict[str, type[BaseModel]] = {
    _CONVERSATION: ConversationEventBody,
    _MEDIA: MediaConversationEventBody,
    _DETAIL: DetailEvent,
}


_INVALID = DeadLetterReason.INVALID_ENVELOPE


class _Reject(Exception):
    """Becomes a :class:`Rejected`; never escapes this module."""

    def __init__(self, reason: DeadLetterReason, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class _Malformed(Exception):
    """The fast reader met something it does not expect: let the wire models decide."""


def parse_genesys(raw: bytes) -> ParseResult:
    """The entry point for Genesys records. Never raises."""
    return inspect_genesys(raw)[0]


def inspect_genesys(raw: bytes) -> tuple[ParseResult, list[str]]:
    """:func:`parse_genesys`, plus the kinds of PII found in attributes (``card_number``,
    ``email``, ..., ``unhashed_customer_id``) for tools that report them. Never raises."""
    pii: list[str] = []
    try:
        if type(raw) is not bytes:
            raw = as_bytes(raw)
        result = _parse(raw, pii)
        if type(result) is Accepted and _NUL_ESCAPE.search(raw) and _holds_nul(result.model_dump()):
            # Rejected, not stripped (see schemas.limits): only when chatstate would keep it.
            raise _Reject(_INVALID, "text chatstate keeps holds a NUL character (\\u0000), "
                                    "which PostgreSQL cannot store")
        return result, pii
    except (_Reject, Refused) as r:
        return Rejected(reason=r.reason, detail=r.detail), pii
    except Exception as exc:  # the promise is "never raises": a bug here must not stop stage 1
        return Rejected(reason=DeadLetterReason.PARSER_ERROR, detail=type(exc).__name__), pii


def _holds_nul(value: Any) -> bool:
    """Rarely run: only when the bytes spell ``\\u0000`` somewhere."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def validation_detail(exc: ValidationError, limit: int = 5) -> str:
    """Where and what kind of error, never the input: pydantic messages can quote values, and
    locations can hold keys taken from the record, so those are PII-redacted too."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False)[:limit]:
        loc = ".".join(redact_text(str(p))[0] for p in err["loc"]) or "$"
        # The caps' own messages name the path inside the value and are values-free.
        note = f" ({err['msg']})" if err["type"] in CAP_ERRORS else ""
        parts.append(f"{loc}: {err['type']}{note}")
    if (more := exc.error_count() - limit) > 0:
        parts.append(f"... {more} more")
    return "; ".join(parts)


def _parse(raw: bytes, pii: list[str], *, typed_only: bool = False) -> ParseResult:
    """``typed_only`` skips the fast reader: the tests compare both paths with it."""
    try:
        doc = load(raw)  # the caps on size, syntax and depth
    except Refused as r:
        raise _Reject(r.reason, r.detail) from None
    if not isinstance(doc, dict):
        raise _Reject(DeadLetterReason.NOT_AN_OBJECT, f"top level is {type(doc).__name__}")
    if "topicName" not in doc and isinstance(doc.get("detail"), dict):
        doc = doc["detail"]  # AWS EventBridge: the same envelope, wrapped
    topic = doc.get("topicName")
    if not isinstance(topic, str) or not topic:
        raise _Reject(_INVALID, "no topicName (nor detail.topicName)")
    kind, variant, queue = _classify(topic)
    if isinstance(kind, Skipped):
        return kind
    body = doc.get("eventBody")
    if body is None:
        raise _Reject(_INVALID, "eventBody is absent or null")
    meta = doc.get("metadata")
    correlation = meta.get("CorrelationId") if type(meta) is dict else None
    if type(correlation) is str:  # an id by contract, copied onward: never trusted to be one
        correlation = redact_text(correlation)[0]
    version = doc.get("version")
    try:
        if typed_only:
            raise _Malformed("typed_only")
        if type(body) is not dict or (meta is not None and type(meta) is not dict):
            raise _Malformed("envelope")
        if not isinstance(correlation, _STR_OR_NONE) or not isinstance(version, _VERSION_TYPES):
            raise _Malformed("envelope")
        return _Reader(topic, correlation, pii).read(kind, body, variant, queue)
    except _Malformed:
        pii.clear()
        canonical = _typed(doc, kind)
        try:
            return _Reader(topic, correlation, pii).read(kind, canonical, variant, queue)
        except _Malformed:  # the models accepted what the reader cannot read: a bug of ours
            raise _Reject(DeadLetterReason.PARSER_ERROR, "reader and wire model disagree") from None
    except _Reject:
        # The reader may meet a bad id before a field of the wrong type; the wire models'
        # structural verdict comes first, as it does when they read the record alone.
        _typed(doc, kind)
        raise


def _typed(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """The wire models' verdict: a rejection with its detail, or the body in canonical form."""
    try:
        env = NotificationEnvelope.model_validate(doc)
    except ValidationError as exc:
        raise _Reject(_INVALID, validation_detail(exc)) from None
    if env.event_body is None:
        raise _Reject(_INVALID, "eventBody is absent or null")
    try:
        body = _MODEL_OF[kind].model_validate(env.event_body)
    except ValidationError as exc:
        raise _Reject(_INVALID, "eventBody: " + validation_detail(exc)) from None
    return body.model_dump(by_alias=True)


def _classify(topic: str) -> tuple[str | Skipped, str | None, str | None]:
    """(kind of body or a skip, the media variant or detail event, the queue the topic names)."""
    if topic == "channel.metadata":
        return _HEARTBEAT, None, None
    if topic == "v2.system.socket_closing":
        return _SOCKET_CLOSING, None, None
    if topic.startswith(_DETAIL_PREFIX):
        _, _, event = topic[len(_DETAIL_PREFIX) :].partition(".")
        if event in DETAIL_EVENTS:
            return _DETAIL, event, None
    elif m := _CONVERSATION_TOPIC.fullmatch(topic):
        queue = m["owner"] if topic.startswith(_QUEUE_PREFIX) else None
        return (_CONVERSATION if m["media"] is None else _MEDIA), m["media"], queue
    return Skipped(reason="topic_not_tracked", topic=topic), None, None


# ---- typed access to plain JSON values: give up on anything unexpected -----------------------


def _str(d: Mapping[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None or type(v) is str:
        return v
    raise _Malformed(key)


# Genesys re-sends the whole conversation on every change, so the same timestamps recur; parsing
# each once saves a tenth of the budget. Bounded: emptied when full.
_TIMES: dict[str, datetime] = {}
_TIMES_MAX = 8192


def _time(d: Mapping[str, Any], key: str) -> datetime | None:
    v = d.get(key)
    if v is None:
        return None
    if type(v) is str:
        cached = _TIMES.get(v)
        if cached is not None:
            return cached
        # Only the forms Genesys writes; anything else is left to the wire model's parser, whose
        # idea of ISO-8601 differs from ``fromisoformat``'s at the edges (week dates, commas).
        if not (len(v) == 24 and v[-1] == "Z" and v[19] == ".") and not _ISO_TIME.fullmatch(v):
            raise _Malformed(key)
        if v[4] != "-" or v[7] != "-" or v[10] != "T" or v[13] != ":" or v[16] != ":":
            raise _Malformed(key)
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            raise _Malformed(key) from None
    elif isinstance(v, datetime):
        t = v
    else:
        raise _Malformed(key)
    # Genesys writes UTC with "Z"; a naive time in a hand-made capture is taken as UTC.
    if t.tzinfo is not UTC:
        try:
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:59:59-01:00 is after the last UTC datetime
            raise _Reject(_INVALID, f"{key} is out of range") from None
    if type(v) is str:
        if len(_TIMES) >= _TIMES_MAX:
            _TIMES.clear()
        _TIMES[v] = t
    return t


def _check(d: Mapping[str, Any], strs: tuple[str, ...], time_key: str | None = None) -> None:
    for key in strs:
        if key in d and type(d[key]) is not str and d[key] is not None:
            raise _Malformed(key)
    if time_key is not None and time_key in d:
        _time(d, time_key)


def _check_attributes(p: Mapping[str, Any]) -> None:
    attrs = p.get("attributes")
    if attrs is None:
        return
    if type(attrs) is not dict or not all(
        v is None or type(v) in (str, int, float, bool) for v in attrs.values()
    ):
        raise _Malformed("attributes")


def _dicts(d: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    v = d.get(key)
    if v is None:
        return []
    if type(v) is list and all(type(x) is dict for x in v):
        return v
    raise _Malformed(key)


def _ref_id(d: Mapping[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if type(v) is dict:
        return _str(v, "id")
    raise _Malformed(key)


def _lower(v: str | None) -> str | None:
    return v.lower() if v else None


def _state(raw_state: str | None) -> ConversationState | None:
    if not raw_state:
        return None
    return _STATE_OF.get(raw_state) or _STATE_OF.get(raw_state.lower())


def _conversation_id(value: str | None) -> str | uuid.UUID:
    if not value:
        raise _Reject(DeadLetterReason.MISSING_CONVERSATION_ID, "the event names no conversation")
    try:
        return _uuid(value)
    except ValueError:
        raise _Reject(_INVALID, "conversation id is not a UUID") from None


class _Reader:
    """Builds the observation as plain dicts, validated once at the end: one pass through
    pydantic's core instead of one per participant (the difference is the budget)."""

    __slots__ = ("correlation", "pii", "topic")

    def __init__(self, topic: str, correlation: str | None, pii: list[str]) -> None:
        self.topic, self.correlation, self.pii = topic, correlation, pii

    def read(
        self, kind: str, body: dict[str, Any], variant: str | None, queue: str | None
    ) -> Accepted:
        if kind == _DETAIL:
            obs = self._detail(body, variant or "")
        elif kind == _CONVERSATION:
            obs = self._conversation(body, queue)
        else:
            obs = self._media_conversation(body, variant or "", queue)
        return Accepted.model_validate({"observation": obs})  # one pass through pydantic's core

    # -- v2.routing.queues.{id}.conversations, v2.users.{id}.conversations

    def _conversation(self, body: dict[str, Any], topic_queue: str | None) -> dict[str, Any]:
        cid = _conversation_id(_str(body, "id"))
        observed, customer, attrs, media_type = [], None, None, None
        for p in _dicts(body, "participants"):
            obs, media = self._participant_from_media(p)
            observed.append(obs)
            if customer is None and obs["purpose"] == "customer":
                customer, attrs, media_type = obs, p.get("attributes"), media
        started = customer["connected_at"] if customer else None
        return self._conversation_level(
            cid, observed, customer, attrs, media_type, topic_queue, started
        )

    def _participant_from_media(self, p: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        live: dict[str, Any] | None = None
        ended: dict[str, Any] | None = None
        media_type: str | None = None
        connected = _time(p, "connectedTime")
        for wire, media in MEDIA_ARRAYS.items():
            if wire not in p:
                continue
            for s in _dicts(p, wire):
                st = _state(_str(s, "state"))
                for key in _SESSION_STRS:  # inlined _check: this loop is the hottest
                    v = s.get(key)
                    if v is not None and type(v) is not str:
                        raise _Malformed(key)
                if "disconnectedTime" in s:
                    _time(s, "disconnectedTime")
                if st is _LIVE:
                    if live is None:
                        live, media_type = s, media
                elif st is _ENDED:
                    if ended is None:
                        ended, media_type = s, media_type or media
                elif media_type is None:
                    media_type = media
                at = _time(s, "connectedTime")
                if at and (connected is None or at < connected):
                    connected = at
        _check(p, _PARTICIPANT_STRS, "endTime")
        _check_attributes(p)
        obs: dict[str, Any] = {
            "id": p.get("id") or "",
            "purpose": _lower(p.get("purpose")),
            "user_id": p.get("userId"),
            "queue_id": p.get("queueId"),
            "connected_at": connected,
        }
        chosen = live or ended
        if chosen is not None:
            obs["raw_state"] = chosen["state"]
            obs["state"] = _state(chosen["state"])
            if live is None:
                obs["ended_at"] = _time(p, "endTime") or _time(chosen, "disconnectedTime")
                obs["disconnect_type"] = _lower(chosen.get("disconnectType"))
        return obs, media_type

    # -- the .chats / .messages variants

    def _media_conversation(
        self, body: dict[str, Any], media: str, topic_queue: str | None
    ) -> dict[str, Any]:
        cid = _conversation_id(_str(body, "id"))
        observed, customer, attrs, started = [], None, None, None
        for p in _dicts(body, "participants"):
            raw_state = _str(p, "state")
            st = _state(raw_state)
            end_time, disconnect = _time(p, "endTime"), _lower(_str(p, "disconnectType"))
            obs: dict[str, Any] = {
                "id": _str(p, "id") or "",
                "purpose": _lower(_str(p, "purpose")),
                "state": st,
                "raw_state": raw_state,
                "user_id": _ref_id(p, "user"),
                "queue_id": _ref_id(p, "queue"),
                "connected_at": _time(p, "connectedTime"),
            }
            start_time = _time(p, "startTime")
            _check(p, _MEDIA_PARTICIPANT_STRS)
            _check_attributes(p)
            if st is _ENDED:
                obs["ended_at"], obs["disconnect_type"] = end_time, disconnect
            observed.append(obs)
            if customer is None and obs["purpose"] == "customer":
                customer, attrs = obs, p.get("attributes")
                started = start_time or obs["connected_at"]
        return self._conversation_level(
            cid, observed, customer, attrs, MEDIA_ARRAYS[media], topic_queue, started
        )

    def _conversation_level(
        self,
        cid: str | uuid.UUID,
        observed: list[dict[str, Any]],
        customer: dict[str, Any] | None,
        attrs: Any,
        media_type: str | None,
        topic_queue: str | None,
        started: datetime | None,
    ) -> dict[str, Any]:
        if customer is not None:
            state = customer.get("state")
        else:  # no customer leg in this event: the conversation is live while any leg is
            states = {p.get("state") for p in observed} - {None}
            state = _LIVE if _LIVE in states else _ENDED if states else None
        queue_id = next(
            (p["queue_id"] for p in observed if p["purpose"] == "acd" and p["queue_id"]), None
        ) or next((p["queue_id"] for p in observed if p["queue_id"]), None)
        obs: dict[str, Any] = {
            "conversation_id": cid,
            "source_topic": self.topic,
            "correlation_id": self.correlation,
            "state": state,
            "media_type": media_type,
            "queue_id": queue_id or topic_queue,
            "started_at": started,
            "customer_participant_id": customer["id"] if customer else None,
            "participants": observed,
        }
        if customer is not None and state is _ENDED:
            obs["ended_at"] = customer.get("ended_at")
            obs["disconnect_type"] = customer.get("disconnect_type")
        if attrs is not None:
            obs.update(self._attributes(attrs))
        return obs

    # -- v2.detail.events.conversation.{id}.{event}

    def _detail(self, body: dict[str, Any], event: str) -> dict[str, Any]:
        cid = _conversation_id(_str(body, "conversationId"))
        leg, _, phase = event.partition(".")
        ms = body.get("eventTime")
        at = None
        if ms is not None:
            if type(ms) is not int or not 0 <= ms <= MAX_EPOCH_MS:
                raise _Malformed("eventTime")
            at = datetime.fromtimestamp(ms / 1000, tz=UTC)
        p_state = _LIVE if phase == "start" else _ENDED if phase == "end" else None
        raw_disconnect = _str(body, "disconnectType")
        disconnect = None
        if phase == "end" and raw_disconnect:
            upper = raw_disconnect.upper()
            disconnect = _DETAIL_DISCONNECT.get(upper) or upper.lower()
        participant_id = _str(body, "participantId")
        queue_id, user_id = _str(body, "queueId"), _str(body, "userId")
        media_type = _lower(_str(body, "mediaType"))
        _check(body, _DETAIL_STRS)
        participants = []
        if participant_id:
            participants.append({
                "id": participant_id,
                "purpose": _DETAIL_PURPOSE.get(leg),
                "state": p_state,
                "raw_state": event if p_state else None,
                "user_id": user_id,
                "queue_id": queue_id,
                "connected_at": at if phase == "start" else None,
                "ended_at": at if phase == "end" else None,
                "disconnect_type": disconnect,
            })
        is_customer = leg == "customer"
        obs: dict[str, Any] = {
            "conversation_id": cid,
            "source_topic": self.topic,
            "event": event,
            "correlation_id": self.correlation,
            "event_time": at,
            # A queue or agent leg starting proves the conversation live; one ending does not
            # end it.
            "state": p_state if is_customer or phase == "start" else None,
            "media_type": media_type,
            "queue_id": queue_id,
            "participants": participants,
        }
        if is_customer:
            obs["customer_participant_id"] = participant_id
            if phase == "start":
                obs["started_at"] = at
            elif phase == "end":
                obs["ended_at"], obs["disconnect_type"] = at, disconnect
        attrs = body.get("attributes")
        if attrs is not None:
            obs.update(self._attributes(attrs))
        return obs

    # -- the customer's attributes

    def _attributes(self, attrs: Any) -> dict[str, Any]:
        """The session context in the customer's attributes, and which attributes carry PII.

        A ``customerIdHashed`` that is not a SHA-256 hex digest is probably the raw id: it is
        dropped and its key is listed with the PII keys, because it is what must not leak."""
        if type(attrs) is not dict:
            raise _Malformed("attributes")
        if len(attrs) > MAX_KEYS:
            raise _Reject(DeadLetterReason.ATTRIBUTE_TOO_LARGE,
                          f"the customer has {len(attrs)} attributes; the limit is {MAX_KEYS}")
        out: dict[str, Any] = {}
        pii_keys: list[str] = []
        text: dict[str, str] = {}
        for key, value in attrs.items():
            if len(key) > MAX_KEY_CHARS:
                raise _Reject(DeadLetterReason.ATTRIBUTE_TOO_LARGE, f"a customer attribute key "
                              f"has {len(key)} characters; the limit is {MAX_KEY_CHARS}")
            if value is None:
                continue
            if type(value) is str:
                if len(value) > MAX_VALUE_CHARS:
                    raise _Reject(DeadLetterReason.ATTRIBUTE_TOO_LARGE, "a customer attribute "
                                  f"has {len(value)} characters; the limit is {MAX_VALUE_CHARS}")
                text[key] = value
            elif type(value) in (int, float, bool):
                text[key] = str(value)
                continue  # a number or a flag cannot hold PII the guard would find
            else:
                raise _Malformed("attributes")
            if _ID_VALUE.fullmatch(value):
                continue
            _, kinds = redact_text(value)
            if kinds:
                pii_keys.append(redact_text(key)[0])
                self.pii.extend(k.value for k in kinds)
        if found := _first(text, _PSID_KEYS):
            try:
                out["persistent_session_id"] = _uuid(found[1])
            except ValueError:
                raise _Reject(_INVALID, f"attribute {found[0]} is not a UUID") from None
        if found := _first(text, _HASH_KEYS):
            if SHA256_HEX.match(found[1]):
                out["customer_id_hashed"] = found[1]
            else:
                if found[0] not in pii_keys:
                    pii_keys.append(found[0])
                self.pii.append(UNHASHED_CUSTOMER_ID)
        if found := _first(text, _RESUMED_KEYS):
            # A hint, not a key: a malformed one is dropped rather than failing the record.
            with contextlib.suppress(ValueError):
                out["resumed_from_conversation_id"] = _uuid(found[1])
        if pii_keys:
            out["pii_attribute_keys"] = pii_keys
        return out


def _first(attrs: Mapping[str, str], keys: tuple[str, str]) -> tuple[str, str] | None:
    for k in keys:
        v = attrs.get(k)
        if v is not None and (v := v.strip()):
            return k, v
    return None
