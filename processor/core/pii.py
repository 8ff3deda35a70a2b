"""The PII guard: finds card numbers, SSNs, e-mail addresses and phone numbers and redacts them.

Why a guard at all: the seed's trap is that PII typed into a chat or put into
``customProperties`` ends up in logs and exports. chatstate redacts before anything is stored,
logged or emitted, and reports *where* it found what kind — never the value itself.

False positives cost as much as misses (a redacted order number breaks a resumption), so each
detector is narrow: card numbers must carry a real card network's prefix, a valid length and a
valid Luhn check digit, and must not be glued to other word characters (UUIDs, Genesys ids);
SSNs only in their dashed form; phone numbers only in international (+CC) or dashed/bracketed
North-American form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "REDACTED",
    "Finding",
    "PiiKind",
    "Policy",
    "ScanResult",
    "luhn_valid",
    "redact_text",
    "scan",
]


class PiiKind(StrEnum):
    CARD_NUMBER = "card_number"
    SSN = "ssn"
    EMAIL = "email"
    PHONE = "phone"


class Policy(StrEnum):
    """What to do with PII found in a field."""

    REDACT = "redact"
    REJECT = "reject"


REDACTED = "[REDACTED:{kind}]"

_NOT_GLUED_BEFORE = r"(?<![\w.+-])"
_NOT_GLUED_AFTER = r"(?![\w-]|\.\d)"
_CARD = re.compile(
    _NOT_GLUED_BEFORE
    + r"(?:\d{13,19}"  # unseparated
    + r"|\d{4}(?P<s1>[ -])\d{4}(?P=s1)\d{4}(?P=s1)\d{1,7}"  # 4-4-4-x (Visa, MC, Discover...)
    + r"|\d{4}(?P<s2>[ -])\d{6}(?P=s2)\d{4,5})"  # 4-6-5 Amex, 4-6-4 Diners
    + _NOT_GLUED_AFTER
)
_SSN = re.compile(
    r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])"
)
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
)
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"  # +CC then groups: +44 20 7946 0958, +14155550100
    r"|\(\d{3}\)\s?\d{3}[-. ]\d{4}"  # (415) 555-0100
    r"|\d{3}[-.]\d{3}[-.]\d{4}"  # 415-555-0100, 415.555.0100
    r")(?![\w-])"
)

# Card networks by prefix: (prefix range low, high, number of prefix digits), allowed lengths.
_CARD_NETWORKS: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    (4, 4, 1, frozenset({13, 16, 19})),  # Visa
    (51, 55, 2, frozenset({16})),  # Mastercard
    (2221, 2720, 4, frozenset({16})),  # Mastercard 2-series
    (34, 34, 2, frozenset({15})),  # American Express
    (37, 37, 2, frozenset({15})),
    (300, 305, 3, frozenset({14, 16, 19})),  # Diners Club
    (36, 36, 2, frozenset({14, 16, 19})),
    (38, 39, 2, frozenset({16, 19})),
    (6011, 6011, 4, frozenset({16, 17, 18, 19})),  # Discover
    (644, 649, 3, frozenset({16, 17, 18, 19})),
    (65, 65, 2, frozenset({16, 17, 18, 19})),
    (3528, 3589, 4, frozenset({16, 17, 18, 19})),  # JCB
    (62, 62, 2, frozenset({16, 17, 18, 19})),  # UnionPay
    (50, 50, 2, frozenset({13, 14, 15, 16, 17, 18, 19})),  # Maestro
    (56, 58, 2, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (67, 67, 2, frozenset({13, 14, 15, 16, 17, 18, 19})),
)


def luhn_valid(digits: str) -> bool:
    """The Luhn mod-10 check every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_card(candidate: str) -> bool:
    digits = candidate.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19:
        return False
    for low, high, width, lengths in _CARD_NETWORKS:
        if low <= int(digits[:width]) <= high and len(digits) in lengths:
            return luhn_valid(digits)
    return False


def redact_text(text: str) -> tuple[str, list[PiiKind]]:
    """Redact every PII occurrence in ``text``; return the new text and the kinds found."""
    if not text or not any(ch.isdigit() or ch == "@" for ch in text):
        return text, []  # fast path: nothing any detector could match
    found: list[PiiKind] = []

    def sub(kind: PiiKind, check: Any = None) -> Any:
        def _replace(m: re.Match[str]) -> str:
            if check is not None and not check(m.group(0)):
                return m.group(0)
            found.append(kind)
            return REDACTED.format(kind=kind.value)

        return _replace

    text = _EMAIL.sub(sub(PiiKind.EMAIL), text)
    text = _CARD.sub(sub(PiiKind.CARD_NUMBER, _is_card), text)
    text = _SSN.sub(sub(PiiKind.SSN), text)
    text = _PHONE.sub(sub(PiiKind.PHONE, _plausible_phone), text)
    return text, found


def _plausible_phone(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    return 8 <= digits <= 15


@dataclass(frozen=True)
class Finding:
    """PII of ``kind`` was found at ``path`` (a JSONPath-like ``$.stateSnapshot.note``)."""

    path: str
    kind: PiiKind


@dataclass(frozen=True)
class ScanResult:
    value: Any
    findings: list[Finding] = field(default_factory=list)
    rejected: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


def scan(
    value: Any,
    policy: Mapping[str, Policy] | None = None,
    *,
    path: str = "$",
) -> ScanResult:
    """Walk a JSON-like value, redact PII in its strings and say where it was found.

    ``policy`` maps a path (``$.customProperties.cardToken``) to REDACT (the default) or REJECT;
    a finding under a REJECT path is also listed in ``rejected`` so the caller can refuse the
    whole record instead of storing a redacted version.
    """
    findings: list[Finding] = []
    rejected: list[Finding] = []
    policy = policy or {}

    def walk(node: Any, here: str) -> Any:
        if isinstance(node, str):
            new, kinds = redact_text(node)
            for kind in kinds:
                f = Finding(here, kind)
                findings.append(f)
                if policy.get(here) is Policy.REJECT:
                    rejected.append(f)
            return new
        if isinstance(node, Mapping):
            return {k: walk(v, f"{here}.{k}") for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, f"{here}[{i}]") for i, v in enumerate(node)]
        return node

    return ScanResult(walk(value, path), findings, rejected)
