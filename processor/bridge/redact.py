"""What the bridge takes out of a notification before it reaches Kafka: participant names and
addresses, and PII the guard finds in any other participant field, attribute values included.

What stays as it is: ids, states and times (the guard never touches them), and the attribute
values chatstate itself reads (``persistentSessionId``, ``customerIdHashed``,
``resumedFromConversationId``, plain or ``context.``-prefixed) or wrote (``chatstate.*``). A
customer hash is not PII (it is what chatstate stores instead of the id), and stage 1 needs the
session id to route the event. No topic chatstate writes holds raw PII (DESIGN.md).
"""

from __future__ import annotations

from typing import Any

from processor.core.pii import redact_text

__all__ = ["KEPT_ATTRIBUTES", "redact_envelope"]

KEPT_ATTRIBUTES = frozenset(
    {"persistentsessionid", "customeridhashed", "resumedfromconversationid"}
)
_NAMES = frozenset(
    {
        "name",
        "participantname",
        "externalcontactname",
        "customername",
        "nickname",
        "firstname",
        "lastname",
        "displayname",
    }
)
_ADDRESSES = frozenset(
    {
        "address",
        "ani",
        "dnis",
        "addressraw",
        "addressnormalized",
        "addressdisplayable",
        "fromaddress",
        "toaddress",
        "addressself",
        "addressother",
        "email",
        "phone",
        "phonenumber",
    }
)


def _kept(key: str) -> bool:
    low = key.lower()
    return low.removeprefix("context.") in KEPT_ATTRIBUTES or low.startswith("chatstate.")


def _walk(node: Any, key: str, found: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _field(k, v, found) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, key, found) for v in node]
    if isinstance(node, str):
        new, kinds = redact_text(node, key=key)
        found.extend(str(k) for k in kinds)
        return new
    return node


def _field(key: str, value: Any, found: list[str]) -> Any:
    low = key.lower()
    if isinstance(value, str) and value and (low in _NAMES or low in _ADDRESSES):
        found.append("name" if low in _NAMES else "address")
        return "[REDACTED:name]" if low in _NAMES else "[REDACTED:address]"
    if low == "attributes" and isinstance(value, dict):
        return {k: v if _kept(k) else _walk(v, k, found) for k, v in value.items()}
    return _walk(value, key, found)


def redact_envelope(envelope: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The envelope with its participants redacted, and the kinds found (for a metric; never
    the values). Queue conversation bodies hold ``participants``; detail events are flat and
    carry no names or addresses, only ids."""
    body = envelope.get("eventBody")
    if not isinstance(body, dict) or not isinstance(body.get("participants"), list):
        return envelope, []
    found: list[str] = []
    parts = [_walk(p, "participant", found) for p in body["participants"]]
    if not found:
        return envelope, []
    return {**envelope, "eventBody": {**body, "participants": parts}}, found
