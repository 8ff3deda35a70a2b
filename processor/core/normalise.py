"""Raw Genesys notification bytes -> one typed verdict: an observation, a skip, or a rejection.

Stage 1 runs this on every record of ``genesys.conversations`` and ``chatstate validate`` runs it
on an integrator's capture, so beyond parsing it promises two things: it never raises (a record
it cannot read becomes a :class:`Rejected` with a stable reason code, to be dead-lettered,
instead of stopping the agent), and it never lets a PII value through (attributes that carry PII
are named in ``pii_attribute_keys``; their values are copied nowhere).

This module is the entry and the arbiter; the reading is done by its siblings:

- :mod:`processor.core.genesys_envelope` classifies the envelope's topic (a body to read, or a
  skip: heartbeats, socket notices and untracked topics are skipped, never errors);
- :mod:`processor.core.genesys_reader` is the fast reader, with the participant and
  conversation state rules; :mod:`processor.core.genesys_times` parses its timestamps and
  :mod:`processor.core.genesys_attributes` reads the customer's attributes (the session
  context, the PII guard);
- :mod:`processor.core.parse_errors` holds the two ways they stop reading.

Two readers, one meaning. The wire models in :mod:`schemas.genesys` are the contract and decide
every rejection. They cost about as much as the whole budget (>= 30,000 records/s on one core),
so records are first read straight from ``json.loads``' dicts by the fast reader, which checks
the type of every field it reads and gives up (``Malformed``) on anything unexpected. A record it
gives up on is validated by the models, and the models' canonical dump is read again: a
disagreement can only cost time, never change a verdict. A property test holds them equal.

Rules (the reasons are in ``docs/contracts.md``): the caps of :mod:`schemas.limits` come first
(record size, nesting depth: see :mod:`processor.core.rawjson`); the customer's attributes are
capped in number, key and value size (``attribute_too_large``); text chatstate keeps may not hold
NUL (PostgreSQL refuses it); other reasons are the enum's ``invalid_envelope`` (the detail says
which field) and ``missing_conversation_id``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from processor.core.genesys_attributes import UNHASHED_CUSTOMER_ID, is_id
from processor.core.genesys_envelope import DETAIL_EVENTS, MODEL_OF, classify
from processor.core.genesys_reader import ENDED_STATES, LIVE_STATES, Reader
from processor.core.parse_errors import INVALID, Malformed, Reject
from processor.core.pii import redact_text
from processor.core.rawjson import Refused, as_bytes, load
from schemas.dlq import DeadLetterReason
from schemas.genesys import NotificationEnvelope
from schemas.limits import CAP_ERRORS
from schemas.observation import Accepted, ParseResult, Rejected, Skipped

__all__ = [
    "DETAIL_EVENTS",
    "ENDED_STATES",
    "LIVE_STATES",
    "UNHASHED_CUSTOMER_ID",
    "inspect_genesys",
    "parse_genesys",
    "validation_detail",
]

# A regex: 40% faster than ``in`` on these records; most hold no backslash at all, which one
# ``in`` (a memchr) tells faster still.
_NUL_ESCAPE = re.compile(rb"\\u0000")
_STR_OR_NONE = (str, type(None))
_VERSION_TYPES = (str, int, type(None))


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
        if (type(result) is Accepted and b"\\" in raw and _NUL_ESCAPE.search(raw)
                and _holds_nul(result.model_dump())):
            # Rejected, not stripped (see schemas.limits): only when chatstate would keep it.
            raise Reject(INVALID, "text chatstate keeps holds a NUL character (\\u0000), "
                                    "which PostgreSQL cannot store")
        return result, pii
    except (Reject, Refused) as r:
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
        raise Reject(r.reason, r.detail) from None
    if not isinstance(doc, dict):
        raise Reject(DeadLetterReason.NOT_AN_OBJECT, f"top level is {type(doc).__name__}")
    if "topicName" not in doc and isinstance(doc.get("detail"), dict):
        doc = doc["detail"]  # AWS EventBridge: the same envelope, wrapped
    topic = doc.get("topicName")
    if not isinstance(topic, str) or not topic:
        raise Reject(INVALID, "no topicName (nor detail.topicName)")
    kind, variant, queue = classify(topic)
    if isinstance(kind, Skipped):
        return kind
    body = doc.get("eventBody")
    if body is None:
        raise Reject(INVALID, "eventBody is absent or null")
    meta = doc.get("metadata")
    correlation = meta.get("CorrelationId") if type(meta) is dict else None
    # An id by contract, never trusted to be one; an id passes the guard unchanged (its own
    # rule), and is_id remembers the ids it saw: a correlation id recurs per conversation.
    if type(correlation) is str and not is_id(correlation):
        correlation = redact_text(correlation)[0]
    version = doc.get("version")
    try:
        if typed_only:
            raise Malformed("typed_only")
        if type(body) is not dict or (meta is not None and type(meta) is not dict):
            raise Malformed("envelope")
        if not isinstance(correlation, _STR_OR_NONE) or not isinstance(version, _VERSION_TYPES):
            raise Malformed("envelope")
        return Reader(topic, correlation, pii).read(kind, body, variant, queue)
    except Malformed:
        pii.clear()
        canonical = _typed(doc, kind)
        try:
            return Reader(topic, correlation, pii).read(kind, canonical, variant, queue)
        except Malformed:  # the models accepted what the reader cannot read: a bug of ours
            raise Reject(DeadLetterReason.PARSER_ERROR, "reader and wire model disagree") from None
    except Reject:
        # The reader may meet a bad id before a field of the wrong type; the wire models'
        # structural verdict comes first, as it does when they read the record alone.
        _typed(doc, kind)
        raise


def _typed(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    """The wire models' verdict: a rejection with its detail, or the body in canonical form."""
    try:
        env = NotificationEnvelope.model_validate(doc)
    except ValidationError as exc:
        raise Reject(INVALID, validation_detail(exc)) from None
    if env.event_body is None:
        raise Reject(INVALID, "eventBody is absent or null")
    try:
        body = MODEL_OF[kind].model_validate(env.event_body)
    except ValidationError as exc:
        raise Reject(INVALID, "eventBody: " + validation_detail(exc)) from None
    return body.model_dump(by_alias=True)
