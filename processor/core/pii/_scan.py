"""Scanning a JSON-like document: every string, whole number and mapping key, with a path.

Why numbers and keys too: a card number sent as a JSON number (``4111111111111111``) or used as
a key is as much a card number as one in a string, and a path built from a raw key would carry
the PII into every finding, alert and header. Keys are redacted (kept unique) and paths are built
from the redacted keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from processor.core.pii._context import NO_HINTS, KeyHints, key_hints
from processor.core.pii._normalise import MAYBE_PII
from processor.core.pii._text import DEFAULT_REGION, PiiKind, redact_text

__all__ = ["DuplicateKeys", "Finding", "Policy", "ScanResult", "format_findings", "scan"]


class Policy(StrEnum):
    """What to do with PII found in a field."""

    REDACT = "redact"
    REJECT = "reject"


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


class DuplicateKeys(list[tuple[str, Any]]):
    """A JSON object whose keys repeat, kept as its pairs: a dict would keep only the last
    value, and PII in an earlier one would be neither found nor redacted."""


_maybe_pii = MAYBE_PII.search


def _inert(v: Any) -> bool:
    """What no detector could read PII in, whatever its key (``walk`` returns it as it is):
    ASCII text without a digit or an at sign, a whole number under 100,000, a flag, null.
    Most of a document is such; one test here spares a call and a path per value."""
    t = type(v)
    if t is str:
        return v.isascii() and _maybe_pii(v) is None
    return v is None or t is bool or (t is int and -100_000 < v < 100_000)


def _plain_keys(node: dict[Any, Any]) -> bool:
    """Every key is ASCII text without a digit or an at sign: none can be redacted (one join
    and one search instead of two tests per key)."""
    try:
        keys = "".join(node)
    except TypeError:  # a key that is not text
        return False
    return keys.isascii() and _maybe_pii(keys) is None


def _digits(node: int | float, hints: KeyHints) -> str | None:
    """The digits of a whole number PII could be sent as: 13 digits or more (a card) anywhere,
    any length under an SSN- or phone-like key."""
    if isinstance(node, float):  # above 2**53 a float no longer holds every digit of a number
        if not node.is_integer() or abs(node) > 2**53:
            return None
        node = int(node)
    if abs(node) >= 10**12 or (hints is not NO_HINTS and abs(node) >= 10**5):
        return str(node) if abs(node) < 10**20 else None
    return None


def _rejecting(policy: Mapping[str, Policy]) -> tuple[str, ...]:
    return tuple(p.lower() for p, v in policy.items() if v == Policy.REJECT)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    """``path`` is one of ``prefixes`` or below one, whatever the case of its keys."""
    low = path.lower()
    return any(low == p or (low.startswith(p) and low[len(p)] in ".[") for p in prefixes)


def scan(
    value: Any,
    policy: Mapping[str, Policy] | None = None,
    *,
    path: str = "$",
    region: str = DEFAULT_REGION,
) -> ScanResult:
    """Walk a JSON-like value, redact PII in its strings, numbers and mapping keys, and say
    where it was found.

    ``policy`` maps a path (``$.customProperties.cardToken``) to REDACT (the default) or REJECT;
    a finding at a REJECT path or anywhere below it, whatever the case of its keys, is also
    listed in ``rejected`` so the caller can refuse the whole record instead of storing a
    redacted version. ``region``: whose national phone formats count under phone-like keys.
    """
    findings: list[Finding] = []
    rejected: list[Finding] = []
    rejecting = _rejecting(policy) if policy else ()

    def found(here: str, kinds: list[PiiKind]) -> None:
        for kind in kinds:
            f = Finding(here, kind)
            findings.append(f)
            if rejecting and _under(here, rejecting):
                rejected.append(f)

    def pairs(items: Iterable[tuple[Any, Any]], here: str) -> list[tuple[str, Any]]:
        names: list[str] = []
        values: list[Any] = []
        key_kinds: dict[int, list[PiiKind]] = {}
        for k, v in items:
            name = k if isinstance(k, str) else str(k)
            if not (name.isascii() and _maybe_pii(name) is None):  # most keys: no digit, no @
                new, kinds = redact_text(name, region=region)
                if kinds:
                    key_kinds[len(names)] = kinds
                    name = new
            names.append(name)
            values.append(v)
        if not key_kinds:
            return fields(zip(names, values, strict=True), here)
        # Keys redacted alike (or like a key as it came) must not overwrite each other.
        taken = {n for i, n in enumerate(names) if i not in key_kinds}
        out: list[tuple[str, Any]] = []
        for i, (name, v) in enumerate(zip(names, values, strict=True)):
            if i in key_kinds:
                unique, n = name, 1
                while unique in taken:
                    n += 1
                    unique = f"{name}#{n}"
                taken.add(unique)
                name = unique
                found(f"{here}.{name}", key_kinds[i])
            out.append((name, walk(v, f"{here}.{name}", name)))
        return out

    def walk(node: Any, here: str, key: str) -> Any:
        t = type(node)  # JSON's own types first, by identity: an ABC check costs a microsecond
        if t is dict:
            if _plain_keys(node):
                return {n: v if _inert(v) else walk(v, f"{here}.{n}", n) for n, v in node.items()}
            return dict(pairs(node.items(), here))
        if t is list:
            return [v if _inert(v) else walk(v, f"{here}[{i}]", key) for i, v in enumerate(node)]
        if isinstance(node, str):
            new, kinds = redact_text(node, key=key, region=region)
            if kinds:
                found(here, kinds)
            return new
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int | float):
            digits = _digits(node, key_hints(key))
            if digits is None:
                return node
            new, kinds = redact_text(digits, key=key, region=region)
            found(here, kinds)
            return new if kinds else node
        if isinstance(node, DuplicateKeys):
            return DuplicateKeys(pairs(node, here))
        if isinstance(node, Mapping):
            return dict(pairs(node.items(), here))
        if isinstance(node, list | tuple):
            return [walk(v, f"{here}[{i}]", key) for i, v in enumerate(node)]
        return node

    def fields(items: Iterable[tuple[str, Any]], here: str) -> list[tuple[str, Any]]:
        """Pairs whose keys hold no PII, each value walked under its key (its path is built
        only for a value that is not inert)."""
        return [(n, v if _inert(v) else walk(v, f"{here}.{n}", n)) for n, v in items]

    return ScanResult(walk(value, path, ""), findings, rejected)


def format_findings(findings: Iterable[Finding]) -> str:
    """``path:kind,path:kind`` for a record header (paths hold redacted keys: no values)."""
    return ",".join(f"{f.path}:{f.kind.value}" for f in findings)
