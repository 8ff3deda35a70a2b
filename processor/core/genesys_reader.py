"""The fast reader: a Genesys event body, read straight from ``json.loads``' dicts, to an
:class:`~schemas.observation.Accepted` observation.

The wire models in :mod:`schemas.genesys` cost about the whole budget (>= 30,000 records/s on one
core), so this reader checks the type of every field the models would check, read or not, and
gives up (:class:`Malformed`) on anything unexpected; :mod:`processor.core.normalise` then lets
the models decide. It never decides a rejection the models would not.

- a participant's state is its own ``state`` when the topic carries one (``.chats``,
  ``.messages``), else derived from its media arrays: live if any media session is live (a
  transfer leaves an ended leg beside the live one), else ended if any ended;
- the observation's state is the customer's; a detail event's ``customer.*`` sets it; a queue or
  agent leg's ``*.start`` proves the conversation live, its ``*.end`` ends only that leg;
  ``acw`` and ``attributes`` change no state.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from processor.core.genesys_attributes import as_uuid, read_attributes
from processor.core.genesys_envelope import CONVERSATION, DETAIL
from processor.core.genesys_times import read_time
from processor.core.parse_errors import INVALID, Malformed, Reject
from schemas.dlq import DeadLetterReason
from schemas.genesys import MAX_EPOCH_MS, MEDIA_ARRAYS
from schemas.observation import Accepted, ConversationState

__all__ = ["ENDED_STATES", "LIVE_STATES", "Reader"]

LIVE_STATES = frozenset(
    {
        "alerting", "dialing", "contacting", "offering", "connected", "parked", "converting",
        "uploading", "transmitting", "scheduled", "held",
    }
)
ENDED_STATES = frozenset({"disconnected", "terminated"})

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
# Every field the wire models type-check is checked by the fast reader too, read or not, so a
# record the models would reject never slips through the fast path.
_SESSION_STRS = ("id", "initialState", "direction", "disconnectType")
_PARTICIPANT_STRS = ("id", "purpose", "queueId", "userId")
_MEDIA_PARTICIPANT_STRS = ("state", "disconnectType", "id", "purpose", "initialState", "direction")
_DETAIL_STRS = (
    "disconnectType", "participantId", "queueId", "userId", "mediaType", "sessionId",
    "messageType", "direction",
)
_SCALARS = (str, int, float, bool)
# The media arrays a participant holds, in MEDIA_ARRAYS' order (which decides its media type).
_MEDIA_WIRES = frozenset(MEDIA_ARRAYS)
_MEDIA_ORDER = {wire: i for i, wire in enumerate(MEDIA_ARRAYS)}
# Accepted.model_validate without its Python wrapper (a tenth of the validation's cost).
_VALIDATE = Accepted.__pydantic_validator__.validate_python


# ---- typed access to plain JSON values: give up on anything unexpected -----------------------


def _str(d: Mapping[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None or type(v) is str:
        return v
    raise Malformed(key)


def _check(d: Mapping[str, Any], strs: tuple[str, ...], time_key: str | None = None) -> None:
    for key in strs:
        v = d.get(key)
        if v is not None and type(v) is not str:
            raise Malformed(key)
    if time_key is not None and time_key in d:
        read_time(d, time_key)


def _check_attributes(p: Mapping[str, Any]) -> None:
    attrs = p.get("attributes")
    if attrs is None:
        return
    if type(attrs) is not dict:
        raise Malformed("attributes")
    for v in attrs.values():  # a loop, not all(genexpr): most hold two or three values
        if v is not None and type(v) not in _SCALARS:
            raise Malformed("attributes")


def _dicts(d: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    v = d.get(key)
    if v is None:
        return []
    if type(v) is not list:
        raise Malformed(key)
    for x in v:
        if type(x) is not dict:
            raise Malformed(key)
    return v


def _ref_id(d: Mapping[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if type(v) is dict:
        return _str(v, "id")
    raise Malformed(key)


def _lower(v: str | None) -> str | None:
    return v.lower() if v else None


def _state(raw_state: str | None) -> ConversationState | None:
    if not raw_state:
        return None
    return _STATE_OF.get(raw_state) or _STATE_OF.get(raw_state.lower())


def _conversation_id(value: str | None) -> uuid.UUID:
    if not value:
        raise Reject(DeadLetterReason.MISSING_CONVERSATION_ID, "the event names no conversation")
    try:
        return as_uuid(value)
    except ValueError:
        raise Reject(INVALID, "conversation id is not a UUID") from None


class Reader:
    """Builds the observation as plain dicts, validated once at the end: one pass through
    pydantic's core instead of one per participant (the difference is the budget)."""

    __slots__ = ("correlation", "pii", "topic")

    def __init__(self, topic: str, correlation: str | None, pii: list[str]) -> None:
        self.topic, self.correlation, self.pii = topic, correlation, pii

    def read(
        self, kind: str, body: dict[str, Any], variant: str | None, queue: str | None
    ) -> Accepted:
        if kind == DETAIL:
            obs = self._detail(body, variant or "")
        elif kind == CONVERSATION:
            obs = self._conversation(body, queue)
        else:
            obs = self._media_conversation(body, variant or "", queue)
        # One pass through pydantic's core, by field name (the reader writes no aliases).
        return _VALIDATE({"observation": obs}, by_alias=False, by_name=True)  # type: ignore[no-any-return]

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
        connected = read_time(p, "connectedTime")
        present = _MEDIA_WIRES.intersection(p)  # one C pass, not ten lookups
        for wire in present if len(present) < 2 else sorted(present, key=_MEDIA_ORDER.__getitem__):
            media = MEDIA_ARRAYS[wire]
            for s in _dicts(p, wire):
                st = _state(_str(s, "state"))
                for key in _SESSION_STRS:  # inlined _check: this loop is the hottest
                    v = s.get(key)
                    if v is not None and type(v) is not str:
                        raise Malformed(key)
                if "disconnectedTime" in s:
                    read_time(s, "disconnectedTime")
                if st is _LIVE:
                    if live is None:
                        live, media_type = s, media
                elif st is _ENDED:
                    if ended is None:
                        ended, media_type = s, media_type or media
                elif media_type is None:
                    media_type = media
                at = read_time(s, "connectedTime")
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
                obs["ended_at"] = read_time(p, "endTime") or read_time(chosen, "disconnectedTime")
                obs["disconnect_type"] = _lower(chosen.get("disconnectType"))
        return obs, media_type

    # -- the .chats / .messages variants

    def _media_conversation(
        self, body: dict[str, Any], media: str, topic_queue: str | None
    ) -> dict[str, Any]:
        cid = _conversation_id(_str(body, "id"))
        observed, customer, attrs, started = [], None, None, None
        for p in _dicts(body, "participants"):
            get = p.get
            for key in _MEDIA_PARTICIPANT_STRS:  # every text field in one loop, first
                v = get(key)
                if v is not None and type(v) is not str:
                    raise Malformed(key)
            raw_state = get("state")
            st = _state(raw_state)
            end_time, disconnect = read_time(p, "endTime"), _lower(get("disconnectType"))
            obs: dict[str, Any] = {
                "id": get("id") or "",
                "purpose": _lower(get("purpose")),
                "state": st,
                "raw_state": raw_state,
                "user_id": _ref_id(p, "user"),
                "queue_id": _ref_id(p, "queue"),
                "connected_at": read_time(p, "connectedTime"),
            }
            start_time = read_time(p, "startTime")
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
        cid: uuid.UUID,
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
        queue_id = None  # the first acd leg's queue, else the first leg's that names one
        for p in observed:
            if p["queue_id"]:
                if p["purpose"] == "acd":
                    queue_id = p["queue_id"]
                    break
                queue_id = queue_id or p["queue_id"]
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
            obs.update(read_attributes(attrs, self.pii))
        return obs

    # -- v2.detail.events.conversation.{id}.{event}

    def _detail(self, body: dict[str, Any], event: str) -> dict[str, Any]:
        cid = _conversation_id(_str(body, "conversationId"))
        leg, _, phase = event.partition(".")
        ms = body.get("eventTime")
        at = None
        if ms is not None:
            if type(ms) is not int or not 0 <= ms <= MAX_EPOCH_MS:
                raise Malformed("eventTime")
            at = datetime.fromtimestamp(ms / 1000, tz=UTC)
        p_state = _LIVE if phase == "start" else _ENDED if phase == "end" else None
        get = body.get
        for key in _DETAIL_STRS:  # one loop for every text field: this method runs most
            v = get(key)
            if v is not None and type(v) is not str:
                raise Malformed(key)
        raw_disconnect = get("disconnectType")
        disconnect = None
        if phase == "end" and raw_disconnect:
            upper = raw_disconnect.upper()
            disconnect = _DETAIL_DISCONNECT.get(upper) or upper.lower()
        participant_id = get("participantId")
        queue_id, user_id = get("queueId"), get("userId")
        media_type = _lower(get("mediaType"))
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
            obs.update(read_attributes(attrs, self.pii))
        return obs
