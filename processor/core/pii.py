"""The PII guard: finds card numbers, SSNs, e-mail addresses and phone numbers and redacts them.

Why a guard at all: the seed's trap is that PII typed into a chat or put into
``customProperties`` ends up in logs and exports. chatstate redacts before anything is stored,
logged or emitted, and reports *where* it found what kind — never the value itself.

False positives cost as much as misses (a redacted order number breaks a resumption), so each
detector is narrow: card numbers must carry a real card network's prefix, a valid length and a
valid Luhn check digit, and must not be glued to other word characters (UUIDs, Genesys ids);
SSNs only in their dashed form; phone numbers only in international (+CC) or dashed/bracketed
North-American form. Digits are ASCII only. The property tests in
``tests/unit/contracts/test_pii_guard_properties.py`` state what "every" and "never" mean here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "REDACTED",
    "Finding",
    "PiiKind",
    "Policy",
    "ScanResult",
    "format_findings",
    "luhn_valid",
    "redact_bytes",
    "redact_text",
    "scan",
]


class PiiKind(StrEnum):
    CARD_NUMBER = "card_number"
    SSN = "ssn"
    EMAIL = "email"
    PHONE = "phone"
    # Not PII found but PII that could not be looked for: the guard failed on this input (a bug),
    # so the whole value was replaced rather than kept unscanned.
    UNSCANNED = "unscanned"


class Policy(StrEnum):
    """What to do with PII found in a field."""

    REDACT = "redact"
    REJECT = "reject"


REDACTED = "[REDACTED:{kind}]"

# Digits are ASCII only: ``\d`` would also match other scripts' digits, which no card uses.
# A run of digit groups joined by single spaces or dashes, not glued to other word characters
# (so the digit parts of UUIDs and Genesys ids never form a run) nor part of a decimal number.
_DIGIT_RUN = re.compile(r"(?<![\w.+-])[0-9]+(?:[ -][0-9]+)*(?![\w-]|\.[0-9])")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_MAX_CARD_GROUPS = 5  # 4-4-4-4-3 (19 digits) is the longest grouping cards are printed in
_SSN = re.compile(
    r"(?<![\w-])(?!000|666|9[0-9][0-9])[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![\w-])"
)
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
)
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?P<intl>\+[0-9]{1,3})(?P<rest>(?:[ .-]?\(?[0-9]{1,4}\)?){2,5})"  # +44 20 7946 0958
    r"|\([0-9]{3}\)\s?[0-9]{3}[-. ][0-9]{4}"  # (415) 555-0100
    r"|[0-9]{3}[-.][0-9]{3}[-.][0-9]{4}"  # 415-555-0100, 415.555.0100
    r")(?![\w-])"
)
_PHONE_GROUP = re.compile(r"[ .-]?\(?[0-9]{1,4}\)?")
_MAYBE_PII = re.compile(r"[0-9@]")

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


def _card_spans(text: str) -> list[tuple[int, int]]:
    """Where card numbers are: each run of digit groups is searched for a window of groups
    printed the way cards are (one block of 13-19, 4-4-4-x, 4-4-4-4-x, 4-6-4/5) that is a valid
    card. Searching windows, not whole runs, is what finds a card right after another number
    ("order 123456 4111 1111 1111 1111")."""
    spans: list[tuple[int, int]] = []
    for run in _DIGIT_RUN.finditer(text):
        start, end = run.span()
        if end - start < 13:
            continue
        groups = [g.span() for g in _DIGIT_GROUP.finditer(text, start, end)]
        i = 0
        while i < len(groups):
            j = min(len(groups), i + _MAX_CARD_GROUPS)
            while j > i:
                if _card_window(text, groups, i, j):
                    spans.append((groups[i][0], groups[j - 1][1]))
                    break
                j -= 1
            i = j if j > i else i + 1
    return spans


def _card_window(text: str, groups: list[tuple[int, int]], i: int, j: int) -> bool:
    window = groups[i:j]
    lengths = [b - a for a, b in window]
    seps = {text[window[k][1]] for k in range(len(window) - 1)}
    if len(seps) > 1:
        return False
    sep = seps.pop() if seps else None
    # A neighbour joined by a dash belongs to the same token (an id, a phone number) unless the
    # card itself is space-separated; a dashed or unseparated card must stand alone.
    if sep != " ":
        if i > 0 and text[window[0][0] - 1] == "-":
            return False
        if j < len(groups) and text[window[-1][1]] == "-":
            return False
    n = len(window)
    if n == 1:
        shaped = 13 <= lengths[0] <= 19
    elif n == 3:
        shaped = lengths[0] == 4 and lengths[1] == 6 and lengths[2] in (4, 5)
    elif n == 4:
        shaped = lengths[:3] == [4, 4, 4] and 1 <= lengths[3] <= 7
    elif n == 5:
        shaped = lengths[:4] == [4, 4, 4, 4] and 1 <= lengths[4] <= 3
    else:
        shaped = False
    if not shaped:
        return False
    return _is_card("".join(text[a:b] for a, b in window))


def _phone_end(m: re.Match[str]) -> int | None:
    """End of the phone number in a match, or None: an international number's greedy groups
    may have swallowed a following number, so groups are given back until it is plausible."""
    if m["intl"] is None:
        return m.end() if _plausible_phone(m.group(0)) else None
    ends = [g.end() for g in _PHONE_GROUP.finditer(m.string, m.start("rest"), m.end("rest"))]
    for k in range(len(ends), 1, -1):
        end = ends[k - 1]
        if end < m.end() and (m.string[end].isalnum() or m.string[end] == "-"):
            continue
        if _plausible_phone(m.string[m.start() : end]):
            return end
    return None


def redact_text(text: str) -> tuple[str, list[PiiKind]]:
    """Redact every PII occurrence in ``text``; return the new text and the kinds found."""
    if not text or _MAYBE_PII.search(text) is None:
        return text, []  # fast path: nothing any detector could match
    found: list[PiiKind] = []

    def mark(kind: PiiKind) -> str:
        found.append(kind)
        return REDACTED.format(kind=kind.value)

    if "@" in text:
        text = _EMAIL.sub(lambda m: mark(PiiKind.EMAIL), text)
    spans = _card_spans(text)
    if spans:
        parts, last = [], 0
        for a, b in spans:
            parts += [text[last:a], mark(PiiKind.CARD_NUMBER)]
            last = b
        text = "".join([*parts, text[last:]])
    text = _SSN.sub(lambda m: mark(PiiKind.SSN), text)

    def phone(m: re.Match[str]) -> str:
        end = _phone_end(m)
        if end is None:
            return m.group(0)
        return mark(PiiKind.PHONE) + m.string[end : m.end()]

    text = _PHONE.sub(phone, text)
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


class _DuplicateKeys(list[tuple[str, Any]]):
    """A JSON object whose keys repeat, kept as its pairs: a dict would keep only the last
    value, and PII in an earlier one would be neither found nor redacted."""


def _number_text(node: int | float) -> str | None:
    """The digits of a whole number a card could be sent as (``4111111111111111`` in JSON)."""
    if isinstance(node, float):
        if not node.is_integer() or not 1e12 <= abs(node) < 1e20:
            return None
        node = int(node)
    return str(node) if 10**12 <= abs(node) < 10**20 else None


def scan(
    value: Any,
    policy: Mapping[str, Policy] | None = None,
    *,
    path: str = "$",
) -> ScanResult:
    """Walk a JSON-like value, redact PII in its strings, numbers and mapping keys, and say
    where it was found.

    ``policy`` maps a path (``$.customProperties.cardToken``) to REDACT (the default) or REJECT;
    a finding under a REJECT path is also listed in ``rejected`` so the caller can refuse the
    whole record instead of storing a redacted version. Paths are built from *redacted* keys, so
    a finding's path never carries the PII a key held.
    """
    findings: list[Finding] = []
    rejected: list[Finding] = []
    policy = policy or {}

    def found(here: str, kinds: list[PiiKind]) -> None:
        for kind in kinds:
            f = Finding(here, kind)
            findings.append(f)
            if policy.get(here) is Policy.REJECT:
                rejected.append(f)

    def key(k: Any, here: str, taken: set[str]) -> str:
        text = k if isinstance(k, str) else str(k)
        new, kinds = redact_text(text)
        if not kinds:
            return text
        found(f"{here}.{new}", kinds)
        unique, n = new, 1
        while unique in taken:  # two keys redacted alike must not overwrite each other
            n += 1
            unique = f"{new}#{n}"
        return unique

    def pairs(items: Any, here: str) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        taken: set[str] = set()
        for k, v in items:
            name = key(k, here, taken)
            taken.add(name)
            out.append((name, walk(v, f"{here}.{name}")))
        return out

    def walk(node: Any, here: str) -> Any:
        if isinstance(node, str):
            new, kinds = redact_text(node)
            found(here, kinds)
            return new
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int | float):
            digits = _number_text(node)
            if digits is None:
                return node
            new, kinds = redact_text(digits)
            found(here, kinds)
            return new if kinds else node
        if isinstance(node, _DuplicateKeys):
            return _DuplicateKeys(pairs(node, here))
        if isinstance(node, Mapping):
            return dict(pairs(node.items(), here))
        if isinstance(node, list | tuple):
            return [walk(v, f"{here}[{i}]") for i, v in enumerate(node)]
        return node

    return ScanResult(walk(value, path), findings, rejected)


def format_findings(findings: Iterable[Finding]) -> str:
    """``path:kind,path:kind`` for a record header (paths hold redacted keys: no values)."""
    return ",".join(f"{f.path}:{f.kind.value}" for f in findings)


def _pairs_hook(items: list[tuple[str, Any]]) -> Any:
    obj = dict(items)
    return obj if len(obj) == len(items) else _DuplicateKeys(items)


def _dump(node: Any, ascii_only: bool) -> str:
    """JSON text of a scanned document; objects with repeated keys keep every pair."""
    if isinstance(node, _DuplicateKeys):
        return (
            "{"
            + ",".join(
                f"{json.dumps(k, ensure_ascii=ascii_only)}:{_dump(v, ascii_only)}" for k, v in node
            )
            + "}"
        )
    if isinstance(node, dict):
        if not any(isinstance(v, dict | list) for v in node.values()):
            return json.dumps(node, ensure_ascii=ascii_only, separators=(",", ":"))
        return (
            "{"
            + ",".join(
                f"{json.dumps(k, ensure_ascii=ascii_only)}:{_dump(v, ascii_only)}"
                for k, v in node.items()
            )
            + "}"
        )
    if isinstance(node, list):
        return "[" + ",".join(_dump(v, ascii_only) for v in node) + "]"
    return json.dumps(node, ensure_ascii=ascii_only)


def _redact_json(raw: bytes) -> tuple[bytes, list[Finding]] | None:
    """Redact a JSON document, or None when ``raw`` is not one this can parse and re-write."""
    try:
        data = json.loads(raw, object_pairs_hook=_pairs_hook)
        result = scan(data)
        if not result.findings:
            return raw, []
        try:
            return _dump(result.value, False).encode("utf-8"), result.findings
        except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: keep it escaped
            return _dump(result.value, True).encode("ascii"), result.findings
    except (ValueError, RecursionError, MemoryError):  # not JSON, too deep, too many digits
        return None


_JSON_STARTS = frozenset({b"{", b"[", b'"'})  # scalars read as text find the same PII


def redact_bytes(raw: bytes) -> tuple[bytes, list[Finding]]:
    """Redact PII from a record's bytes (a Kafka key, header or value), whatever they hold.

    Why: a dead letter keeps the original record, and ``chat.dlq`` keeps 30 days, so what it
    keeps must be redacted while staying as close to the original as possible. A JSON document
    is parsed and scanned (strings, numbers, keys, escaped characters included) and re-written
    compactly; anything else is redacted as text, every byte outside a match kept as it was
    (invalid UTF-8 included). When nothing is found the very same object comes back. Never
    raises; finding paths are ``$.a.b`` for JSON and ``$`` for text.
    """
    try:
        if raw.lstrip()[:1] in _JSON_STARTS:
            done = _redact_json(raw)
            if done is not None:
                return (raw, []) if not done[1] else done
        text = raw.decode("utf-8", errors="surrogateescape")
        new, kinds = redact_text(text)
        if not kinds:
            return raw, []
        return new.encode("utf-8", errors="surrogateescape"), [Finding("$", k) for k in kinds]
    except Exception:  # a guard that raises would stop the stream
        # The guard itself failed: keep nothing rather than risk keeping PII.
        return REDACTED.format(kind="unscanned").encode(), [Finding("$", PiiKind.UNSCANNED)]
