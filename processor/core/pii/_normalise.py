"""Text as the PII detectors read it, with the way back to the original's offsets.

Why: a card number typed with full-width digits (U+FF14 for 4), with zero-width spaces or
no-break spaces between its groups, or in another script's digits is still a card number, and a
detector written for ASCII would miss it. The detectors therefore read a normalised copy, and
the redaction is applied to the *original* text through the offset map, so everything outside a
match is kept exactly as it came.

Normalising one character at a time (NFKC of each character, not of the whole string) keeps the
map trivial: every character of the copy comes from exactly one character of the original.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["MAYBE_PII", "normalise"]

# Anything a detector could start from: a digit of any script, an at sign (full-width too).
MAYBE_PII = re.compile(r"[0-9@]")
_MAYBE_PII_WIDE = re.compile(r"[\d@\uff20\ufe6b]")
_NON_ASCII_CHARS = re.compile(r"[^\x00-\x7f]")


@functools.lru_cache(maxsize=4096)
def _char(ch: str) -> str:
    """What one non-ASCII character reads as: ``""`` for format characters (zero-width space,
    joiners, soft hyphen) and combining marks, ``" "`` for any Unicode space, ``"-"`` for any
    dash, the ASCII digit for a digit of any script, else its NFKC form."""
    category = unicodedata.category(ch)
    if category in ("Cf", "Mn", "Me"):
        return ""
    if category == "Zs":
        return " "
    if category == "Pd" or ch == "\u2212":  # dashes, and the minus sign people type as one
        return "-"
    if category == "Nd":
        return str(unicodedata.decimal(ch))
    return unicodedata.normalize("NFKC", ch)


def normalise(text: str) -> tuple[str, list[int] | None] | None:
    """The copy the detectors read and, when it differs in length or place from ``text``, the
    original offset of each of its characters (``None``: offsets are the same).

    Returns ``None`` when nothing in ``text`` could be PII (no digit of any script, no at sign):
    the cheap test almost every log string ends at.
    """
    if text.isascii():
        return (text, None) if MAYBE_PII.search(text) else None
    if _MAYBE_PII_WIDE.search(text) is None:
        return None
    table = {ch: _char(ch) for ch in set(_NON_ASCII_CHARS.findall(text))}
    norm = text.translate({ord(ch): out for ch, out in table.items() if out != ch})
    if MAYBE_PII.search(norm) is None:
        return None
    widths = {ch: len(out) for ch, out in table.items() if len(out) != 1}
    if not widths:
        return norm, None  # one character for one: the offsets stay
    origin: list[int] = []
    last = 0
    special = re.compile("[" + "".join(re.escape(ch) for ch in widths) + "]")
    for m in special.finditer(text):  # between them, offsets run one for one
        i = m.start()
        origin.extend(range(last, i))
        origin.extend([i] * widths[text[i]])
        last = i + 1
    origin.extend(range(last, len(text)))
    return norm, origin


def to_original(spans: list[tuple[int, int]], origin: list[int] | None) -> list[tuple[int, int]]:
    """Spans of the normalised copy as spans of the original (each non-empty span covers the
    original characters its first and last characters came from, and everything between)."""
    if origin is None:
        return spans
    return [(origin[a], origin[b - 1] + 1) for a, b in spans if b > a]
