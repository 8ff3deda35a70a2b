"""Redacting a record's bytes, whatever they hold: what a dead letter keeps of the original.

Why: ``chat.dlq`` keeps 30 days, so what it keeps must be redacted, yet stay as close to the
original as possible for whoever diagnoses it. A JSON document is parsed and scanned (strings,
numbers, keys, escaped characters included) and re-written compactly; anything else (invalid JSON,
invalid UTF-8, nesting too deep to parse) is redacted as text, every byte outside a match kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

from processor.core.pii._scan import DuplicateKeys, Finding, scan
from processor.core.pii._text import DEFAULT_REGION, REDACTED, PiiKind, redact_text

__all__ = ["redact_bytes"]


def _pairs_hook(items: list[tuple[str, Any]]) -> Any:
    obj = dict(items)
    return obj if len(obj) == len(items) else DuplicateKeys(items)


def _dump(node: Any, ascii_only: bool) -> str:
    """JSON text of a scanned document; objects with repeated keys keep every pair."""
    if isinstance(node, DuplicateKeys | dict):
        items = node if isinstance(node, DuplicateKeys) else node.items()
        return (
            "{"
            + ",".join(
                f"{json.dumps(k, ensure_ascii=ascii_only)}:{_dump(v, ascii_only)}" for k, v in items
            )
            + "}"
        )
    if isinstance(node, list):
        return "[" + ",".join(_dump(v, ascii_only) for v in node) + "]"
    return json.dumps(node, ensure_ascii=ascii_only)


def _redact_json(raw: bytes, region: str) -> tuple[bytes, list[Finding]] | None:
    """Redact a JSON document, or None when ``raw`` is not one this can parse and re-write."""
    try:
        data = json.loads(raw, object_pairs_hook=_pairs_hook)
        result = scan(data, region=region)
        if not result.findings:
            return raw, []
        try:
            return _dump(result.value, False).encode("utf-8"), result.findings
        except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: keep it escaped
            return _dump(result.value, True).encode("ascii"), result.findings
    except (ValueError, RecursionError, MemoryError):  # not JSON, too deep, too many digits
        return None


_JSON_STARTS = frozenset({b"{", b"[", b'"'})  # scalars read as text find the same PII
# A JSON string token, escapes and all. Linear, with no nesting: it reads records too deep for
# the parser (a card written with "\u00a0" between its groups is invisible to the text pass).
_STRING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _redact_escaped_strings(text: str, region: str) -> tuple[str, list[PiiKind]]:
    """Decode each escaped JSON string token, redact it, write it back escaped."""
    kinds: list[PiiKind] = []

    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if "\\" not in token:
            return token  # the text pass reads it as it is
        try:
            value = json.loads(token)
        except ValueError:
            return token
        new, found = redact_text(value, region=region)
        if not found:
            return token
        kinds.extend(found)
        return json.dumps(new)

    return _STRING_TOKEN.sub(one, text), kinds


def redact_bytes(raw: bytes, *, region: str = DEFAULT_REGION) -> tuple[bytes, list[Finding]]:
    """Redact PII from a record's bytes (a Kafka key, header or value), whatever they hold.

    When nothing is found the very same object comes back. Never raises: a guard that raised
    would stop the stream. Finding paths are ``$.a.b`` for JSON and ``$`` for text.
    """
    try:
        if raw.lstrip()[:1] in _JSON_STARTS:
            done = _redact_json(raw, region)
            if done is not None:
                return (raw, []) if not done[1] else done
        text = raw.decode("utf-8", errors="surrogateescape")
        escaped: list[PiiKind] = []
        if "\\" in text:
            text, escaped = _redact_escaped_strings(text, region)
        new, kinds = redact_text(text, region=region)
        kinds = escaped + kinds
        if not kinds:
            return raw, []
        return new.encode("utf-8", errors="surrogateescape"), [Finding("$", k) for k in kinds]
    except Exception:  # a guard that raises would stop the stream
        # The guard itself failed: keep nothing rather than risk keeping PII.
        return REDACTED.format(kind="unscanned").encode(), [Finding("$", PiiKind.UNSCANNED)]
