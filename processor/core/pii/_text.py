"""Redacting one string: normalise, run every detector, replace what they found in the original.

Why spans and not one substitution per detector: the detectors read the normalised copy, the
replacement must land on the original (``_normalise``), and where two detectors claim
overlapping text their union is replaced, so no digit of either is ever left behind.
"""

from __future__ import annotations

import re
from enum import StrEnum

from processor.core.pii._context import (
    NO_HINTS,
    SSN_WORDS,
    KeyHints,
    key_hints,
    mentions,
    near_words,
)
from processor.core.pii._normalise import normalise, to_original
from processor.core.pii._numbers import card_spans, iban_spans, ssn_spans
from processor.core.pii._phone import phone_spans

__all__ = ["DEFAULT_REGION", "REDACTED", "PiiKind", "find", "redact_text"]


class PiiKind(StrEnum):
    CARD_NUMBER = "card_number"
    SSN = "ssn"
    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    # Not PII found but PII that could not be looked for: the guard failed on this input (a bug),
    # so the whole value was replaced rather than kept unscanned.
    UNSCANNED = "unscanned"


REDACTED = "[REDACTED:{kind}]"
DEFAULT_REGION = "US"  # national phone formats: CHATSTATE_PII_DEFAULT_REGION

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
)
_MARKERS = {kind: REDACTED.format(kind=kind.value) for kind in PiiKind}
Found = tuple[int, int, PiiKind]


def find(text: str, hints: KeyHints = NO_HINTS, region: str = DEFAULT_REGION) -> list[Found]:
    """Spans of PII in an already normalised ``text``, merged where they overlap (the earlier
    detector in the order e-mail, IBAN, card, SSN, phone names the kind), in text order.

    Each detector runs only when the text holds enough digits for what it looks for (a card
    13, an SSN 9, a phone number 7, an IBAN 6): most strings that hold a digit at all are ids,
    times and counts, and counting is one C call where a detector is a regex pass or more.
    """
    if text.count("-") >= 2 and _ID_OR_TIME.search(text):
        text = _ID_OR_TIME.sub(_blank, text)
    # Counting digits on the UTF-8 bytes is several times faster than on the str.
    raw = text.encode("utf-8", "surrogatepass")
    digits = len(raw) - len(raw.translate(None, b"0123456789"))
    spans: list[Found] = []
    if "@" in text:
        spans += [(*m.span(), PiiKind.EMAIL) for m in _EMAIL.finditer(text)]
    if digits >= 6:
        spans += [(a, b, PiiKind.IBAN) for a, b in iban_spans(text)]
    if digits >= 13:
        spans += [(a, b, PiiKind.CARD_NUMBER) for a, b in card_spans(text)]
    worded = digits >= 7 and mentions(text.lower())
    if digits >= 9:
        if hints.ssn:
            spans += [(a, b, PiiKind.SSN) for a, b in ssn_spans(text, any_form=True)]
        else:
            if "-" in text:
                spans += [(a, b, PiiKind.SSN) for a, b in ssn_spans(text)]
            if worded:  # undashed or spaced, right after "SSN" or "social security number"
                spans += [
                    (a, b, PiiKind.SSN)
                    for a, b in ssn_spans(text, any_form=True)
                    if near_words(SSN_WORDS, text, a, b)
                ]
    if digits >= 7 or (hints.phone and digits >= 5):
        spans += [
            (a, b, PiiKind.PHONE)
            for a, b in phone_spans(
                text,
                keyed=hints.phone,
                region=region,
                digits=digits,
                worded=worded and not hints.phone,
            )
        ]
    return _merge(spans) if len(spans) > 1 else spans


# UUIDs and ISO-8601 dates and times inside a text (a route, a log message) hold digits but no
# PII a detector could find in them: they are blanked out, same length (so offsets hold), before
# the digits are counted. Word characters, so an e-mail address made of a UUID is still one.
_ID_OR_TIME = re.compile(
    r"(?<![\w-])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?)(?![\w-])"
)


def _blank(m: re.Match[str]) -> str:
    return "x" * (m.end() - m.start())


# Whole strings that cannot hold PII without a key saying so: a UUID, an ISO-8601 time, a number
# of at most 12 digits (a card has 13; a bare SSN or national phone number needs a key), a decimal
# or a price, a hex digest. Checked first, with one C call.
_PLAIN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
    r"|[-+$]?[0-9]{1,12}(?:\.[0-9]{1,6})?"
    r"|[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64}"
)
_PRIORITY = {PiiKind.EMAIL: 0, PiiKind.IBAN: 1, PiiKind.CARD_NUMBER: 2, PiiKind.SSN: 3}


def _merge(spans: list[Found]) -> list[Found]:
    merged: list[Found] = []
    for a, b, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and a < merged[-1][1]:
            pa, pb, pkind = merged[-1]
            top = kind if _PRIORITY.get(kind, 9) < _PRIORITY.get(pkind, 9) else pkind
            merged[-1] = (pa, max(pb, b), top)
        else:
            merged.append((a, b, kind))
    return merged


def redact_text(
    text: str, *, key: str = "", region: str = DEFAULT_REGION
) -> tuple[str, list[PiiKind]]:
    """Redact every PII occurrence in ``text``; return the new text and the kinds found.

    ``key``: the name of the field the text came from; an SSN- or phone-like name (``ssn``,
    ``mobile``) lets undashed SSNs and national phone formats count. ``region``: the country
    whose national phone formats are read (ISO 3166 alpha-2). Outside the replaced spans the
    text is returned exactly as it came; nothing found returns the same object.
    """
    if not text:
        return text, []
    read = normalise(text)
    if read is None:
        return text, []  # fast path: nothing any detector could match
    norm, origin = read
    hints = key_hints(key) if key else NO_HINTS
    if hints is NO_HINTS and origin is None and _PLAIN.fullmatch(norm):
        return text, []  # an id, a time, a count, a price: the bulk of what holds a digit
    found = find(norm, hints, region)
    if not found:
        return text, []
    spans = to_original([(a, b) for a, b, _ in found], origin)
    parts: list[str] = []
    last = 0
    for (a, b), (_, _, kind) in zip(spans, found, strict=True):
        parts += [text[last:a], _MARKERS[kind]]
        last = b
    parts.append(text[last:])
    return "".join(parts), [kind for _, _, kind in found]
