"""What one input record may hold: every cap of the input contracts, named and in one place.

The caps exist so that a record which reaches a parser can never make a later step fail: the
database refusing a value, an index entry over PostgreSQL's btree limit, a parser's recursion,
Python's int-to-text limit. Each cap has its own dead-letter reason (``schemas/dlq.py``) and, at
the HTTP API, a 422 naming the cap and the path; never the value itself.

- :data:`MAX_RECORD_BYTES` (512 KiB): one input record (an envelope, a snapshot, a command).
  A snapshot's content is capped much lower (``MAX_SNAPSHOT_BYTES``); the record cap is the
  guard before any parsing, generous enough for a Genesys conversation of many participants.
- :data:`MAX_DEPTH` (64 levels of objects and arrays, the record's top level being 1): no
  contract needs more than 6; 64 leaves room for whatever a flow nests in its context and is
  far from any parser's recursion (jiter stops at 200, ``json`` and recursive walks near 1,000).
- :data:`MAX_KEY_CHARS` (256): a key of a participant's attributes, of ``customProperties`` or
  of ``stateSnapshot``. Keys are names, and chatstate copies them: the PII alert lists the keys
  that carried PII in its details and its dedup key, and a dedup key lives in a btree index
  whose entries must stay under ~2,700 bytes (256 characters are at most 1 KiB of UTF-8).
- :data:`MAX_VALUE_CHARS` (8 KiB): a text value there; the same as the longest field a snapshot
  names (``lastAgentMessage``, 8,000). Context is a few words per key, not a document.
- :data:`MAX_KEYS` (256): keys of one mapping (attributes, customProperties, any object in the
  snapshot): Genesys caps participant attributes lower still; a flow that needs more sends a
  document where context belongs.
- :data:`MAX_NUMBER_DIGITS` (100): an integer's decimal digits. Every consumer can read it
  (PostgreSQL numeric, JSON readers) and it stays far from Python's 4,300-digit conversion
  limit, which raises where nobody expects it (logging, hashing, ``json.dumps``).

Lengths are measured with each redaction marker of the PII guard (``[REDACTED:<kind>]``) counted
as one character (:func:`text_length`): the guard replaces a value with a marker that may be
longer, and the redacted snapshot the API produces is validated again by stage 1, so a snapshot
the API accepted must not grow past a cap by being redacted (a 202, then a dead letter).

Text must be storable: PostgreSQL's ``text`` and ``jsonb`` refuse NUL (``\\u0000``) and lone
surrogates, so a record holding one is **refused** (not stripped: a silent change would alter
what the producer sent and its content id; refusing tells the producer to fix it). Numbers must
be finite (``NaN``, ``Infinity`` and ``1e400`` are not JSON a consumer can read back).
Duplicate keys in an object: **the last one wins**, as RFC 8259 allows and as jiter (the parser
of pydantic and of stage 1), JavaScript and PostgreSQL's jsonb all read them; detecting them
would cost a second parse of every record.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

from schemas.dlq import DeadLetterReason

__all__ = [
    "CAP_ERRORS",
    "MAX_DEPTH",
    "MAX_KEYS",
    "MAX_KEY_CHARS",
    "MAX_NUMBER_DIGITS",
    "MAX_RECORD_BYTES",
    "MAX_VALUE_CHARS",
    "REASONS",
    "Problem",
    "check_tree",
    "has_unstorable_text",
    "path_key",
    "text_length",
]

MAX_RECORD_BYTES = 512 * 1024
MAX_DEPTH = 64
MAX_KEY_CHARS = 256
MAX_VALUE_CHARS = 8 * 1024
MAX_KEYS = 256
MAX_NUMBER_DIGITS = 100
_MAX_INT: int = 10**MAX_NUMBER_DIGITS

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MARKER = re.compile(r"\[REDACTED:[a-z_]{1,32}\]")  # processor.core.pii's REDACTED
# A key shown in a path only when it cannot be a value in disguise (a name: letters first, at
# most 4 digits, no @, +, spaces): else ``*``, because paths reach error answers and logs.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


class Problem(NamedTuple):
    """What is wrong and where; ``kind`` is also the pydantic error type the API answers with."""

    kind: str  # one of the keys of REASONS, or "unstorable_text" / "non_finite_number"
    message: str

    @property
    def reason(self) -> DeadLetterReason | None:
        """The dead-letter reason of its own, or None: the input's ``invalid_*`` reason."""
        return REASONS.get(self.kind)


REASONS = {
    "too_deeply_nested": DeadLetterReason.TOO_DEEPLY_NESTED,
    "attribute_too_large": DeadLetterReason.ATTRIBUTE_TOO_LARGE,
}


CAP_ERRORS = frozenset({*REASONS, "unstorable_text", "non_finite_number"})
"""Error types whose messages chatstate writes itself, values-free: safe to quote anywhere."""


def path_key(path: str, key: object) -> str:
    """``path.key`` when the key is a plain name, ``path.*`` when it could be a value."""
    plain = isinstance(key, str) and _PLAIN_KEY.fullmatch(key) and _digits(key) <= 4
    return f"{path}.{key}" if plain else f"{path}.*"


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def text_length(text: str) -> int:
    """``len(text)``, each redaction marker counting as one character (see above)."""
    return len(_MARKER.sub("*", text)) if "[REDACTED:" in text else len(text)


def has_unstorable_text(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def check_tree(value: Any, path: str = "$", depth: int = 1) -> Problem | None:
    """The first cap ``value`` breaks, or None. ``depth`` is the level ``value`` sits at when
    it is a container (the record's top-level object is 1). Never quotes a value or an
    over-long key; keys that could be values appear as ``*``.

    Almost every value breaks no cap, and building the path of every key cost two thirds of a
    snapshot's check: a path-free pass says "nothing wrong" first, and only a value it cannot
    clear is walked again, with paths, to name the first problem."""
    texts: list[str] = []
    if _clear(value, depth, texts) and _UNSTORABLE.search("".join(texts)) is None:
        return None
    return _first_problem(value, path, depth)


def _clear(value: Any, depth: int, texts: list[str]) -> bool:
    """True when ``value`` certainly breaks no cap but the text's storability, its strings
    (keys included) being appended to ``texts`` for one search. Anything unusual (a type other
    than JSON's, a key that is not text, text near a cap) is False: the full walk decides."""
    t = type(value)
    if t is dict:
        if depth > MAX_DEPTH or len(value) > MAX_KEYS:
            return False
        for k, v in value.items():
            if type(k) is not str or len(k) > MAX_KEY_CHARS:
                return False
            texts.append(k)
            tv = type(v)
            if tv is str:
                if len(v) > MAX_VALUE_CHARS:
                    return False
                texts.append(v)
            elif tv is int:
                if not -_MAX_INT < v < _MAX_INT:
                    return False
            elif v is None or tv is bool:
                continue
            elif not _clear(v, depth + 1, texts):
                return False
        return True
    if t is list:
        if depth > MAX_DEPTH:
            return False
        return all(_clear(v, depth + 1, texts) for v in value)
    if t is str:
        texts.append(value)
        return len(value) <= MAX_VALUE_CHARS
    if t is int:
        number: int = value
        return -_MAX_INT < number < _MAX_INT
    if t is float:
        return math.isfinite(value)
    return value is None or t is bool


def _first_problem(value: Any, path: str, depth: int) -> Problem | None:
    """:func:`check_tree`'s answer, paths and all (run only when the quick pass found doubt)."""
    if isinstance(value, str):
        return _check_text(value, path, "value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if not -_MAX_INT < value < _MAX_INT:
            return Problem("attribute_too_large",
                           f"the number at {path} has over {MAX_NUMBER_DIGITS} digits")
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return Problem("non_finite_number",
                           f"the number at {path} is not finite (NaN, Infinity or too large)")
        return None
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        return Problem("too_deeply_nested",
                       f"{path} is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if len(value) > MAX_KEYS:
            return Problem("attribute_too_large",
                           f"{path} has {len(value)} keys; the limit is {MAX_KEYS}")
        for k, v in value.items():
            if not isinstance(k, str):
                continue  # JSON keys are text; a Python caller's other keys are its business
            if problem := _check_text(k, path, "key"):
                return problem
            if problem := _first_problem(v, path_key(path, k), depth + 1):
                return problem
        return None
    if isinstance(value, list):
        for i, v in enumerate(value):
            if problem := _first_problem(v, f"{path}[{i}]", depth + 1):
                return problem
    return None


def _check_text(text: str, path: str, what: str) -> Problem | None:
    limit = MAX_KEY_CHARS if what == "key" else MAX_VALUE_CHARS
    where = f"a key of {path}" if what == "key" else f"the text at {path}"
    if len(text) > limit and (length := text_length(text)) > limit:
        return Problem("attribute_too_large",
                       f"{where} has {length} characters; the limit is {limit}")
    if _UNSTORABLE.search(text):
        return Problem("unstorable_text",
                       f"{where} holds a NUL character or a lone surrogate, which "
                       "PostgreSQL cannot store")
    return None
