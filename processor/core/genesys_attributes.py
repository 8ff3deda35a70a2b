"""The session context in a customer's Genesys attributes, and which attributes carry PII.

``persistentSessionId``, ``customerIdHashed`` and ``resumedFromConversationId`` are read under the
plain key (Web Messaging) or the ``context.`` key (legacy web chat v2); the plain key wins when
both are present. Attributes are capped in number, key and value size (``attribute_too_large``).
A value that holds PII is copied nowhere: its key is listed in ``pii_attribute_keys`` instead.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Mapping
from typing import Any

from processor.core.parse_errors import INVALID, Malformed, Reject
from processor.core.pii import redact_text
from schemas.dlq import DeadLetterReason
from schemas.limits import MAX_KEY_CHARS, MAX_KEYS, MAX_VALUE_CHARS
from schemas.snapshot import SHA256_HEX

__all__ = [
    "HASH_KEYS",
    "PSID_KEYS",
    "RESUMED_KEYS",
    "UNHASHED_CUSTOMER_ID",
    "as_uuid",
    "is_id",
    "read_attributes",
]

UNHASHED_CUSTOMER_ID = "unhashed_customer_id"
"""Reported like a PII kind: a raw customer id where its SHA-256 digest belongs."""

PSID_KEYS = ("persistentSessionId", "context.persistentSessionId")
HASH_KEYS = ("customerIdHashed", "context.customerIdHashed")
RESUMED_KEYS = ("resumedFromConversationId", "context.resumedFromConversationId")
# Values that cannot hide PII (ids, digests) skip the scan: most attributes are such ids.
_ID_VALUE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{64}"
)
# Only a text of 36 or 64 characters can be one; those that are, are remembered: the same ids
# recur in every record of a conversation (an id is no PII: the set keeps none). Bounded.
_IDS: set[str] = set()
_IDS_MAX = 8192
# Genesys repeats a conversation's ids in every record about it (a dozen or more), so each
# spelling is parsed once: a cached UUID is handed to pydantic, which keeps the instance as it
# is, where a text costs its core a parse and a new object (one more for the GC to track, in
# every observation kept). UUIDs are immutable: sharing one is invisible. Bounded: emptied
# when full.
_UUIDS: dict[str, uuid.UUID] = {}
_UUIDS_MAX = 8192


def as_uuid(value: str) -> uuid.UUID:
    """The value as a UUID (any spelling ``uuid.UUID`` reads); ``ValueError`` when it is none."""
    cached = _UUIDS.get(value)
    if cached is None:
        cached = uuid.UUID(value)
        if len(_UUIDS) >= _UUIDS_MAX:
            _UUIDS.clear()
        _UUIDS[value] = cached
    return cached


def is_id(value: str) -> bool:
    """Whether ``value`` is a canonical UUID or a lower-case SHA-256 hex digest: text the PII
    guard returns unchanged by its own rule, so it need not be scanned."""
    n = len(value)
    if n != 36 and n != 64:
        return False
    if value in _IDS:
        return True
    if _ID_VALUE.fullmatch(value) is None:
        return False
    if len(_IDS) >= _IDS_MAX:
        _IDS.clear()
    _IDS.add(value)
    return True


def read_attributes(attrs: Any, pii: list[str]) -> dict[str, Any]:
    """The observation's fields taken from the customer's attributes; the kinds of PII found
    are appended to ``pii``.

    A ``customerIdHashed`` that is not a SHA-256 hex digest is probably the raw id: it is
    dropped and its key is listed with the PII keys, because it is what must not leak."""
    if type(attrs) is not dict:
        raise Malformed("attributes")
    if len(attrs) > MAX_KEYS:
        raise Reject(DeadLetterReason.ATTRIBUTE_TOO_LARGE,
                     f"the customer has {len(attrs)} attributes; the limit is {MAX_KEYS}")
    out: dict[str, Any] = {}
    pii_keys: list[str] = []
    text: dict[str, str] = {}
    for key, value in attrs.items():
        if len(key) > MAX_KEY_CHARS:
            raise Reject(DeadLetterReason.ATTRIBUTE_TOO_LARGE, f"a customer attribute key "
                         f"has {len(key)} characters; the limit is {MAX_KEY_CHARS}")
        if value is None:
            continue
        if type(value) is str:
            if len(value) > MAX_VALUE_CHARS:
                raise Reject(DeadLetterReason.ATTRIBUTE_TOO_LARGE, "a customer attribute "
                             f"has {len(value)} characters; the limit is {MAX_VALUE_CHARS}")
            text[key] = value
        elif type(value) in (int, float, bool):
            text[key] = str(value)
            continue  # a number or a flag cannot hold PII the guard would find
        else:
            raise Malformed("attributes")
        if is_id(value):
            continue
        _, kinds = redact_text(value)
        if kinds:
            pii_keys.append(redact_text(key)[0])
            pii.extend(k.value for k in kinds)
    if found := _first(text, PSID_KEYS):
        try:
            out["persistent_session_id"] = as_uuid(found[1])
        except ValueError:
            raise Reject(INVALID, f"attribute {found[0]} is not a UUID") from None
    if found := _first(text, HASH_KEYS):
        # A known 64-character id is a digest (_ID_VALUE's second form is SHA256_HEX's).
        digest = found[1]
        if (len(digest) == 64 and digest in _IDS) or SHA256_HEX.match(digest):
            out["customer_id_hashed"] = found[1]
        else:
            if found[0] not in pii_keys:
                pii_keys.append(found[0])
            pii.append(UNHASHED_CUSTOMER_ID)
    if found := _first(text, RESUMED_KEYS):
        # A hint, not a key: a malformed one is dropped rather than failing the record.
        with contextlib.suppress(ValueError):
            out["resumed_from_conversation_id"] = as_uuid(found[1])
    if pii_keys:
        out["pii_attribute_keys"] = pii_keys
    return out


def _first(attrs: Mapping[str, str], keys: tuple[str, str]) -> tuple[str, str] | None:
    for k in keys:
        v = attrs.get(k)
        if v is not None and (v := v.strip()):
            return k, v
    return None
