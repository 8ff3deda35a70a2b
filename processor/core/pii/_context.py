"""When a bare number is PII: the field it sits in, or the words just before it, say so.

Why: ``123456789`` and ``4155550100`` are far more often order, ticket or account numbers than
an SSN or a phone number, and redacting an order number breaks a resumption. So the forms that
carry no mark of their own (an undashed SSN, a national phone number) are looked for only under
a key that names them (``ssn``, ``socialSecurityNumber``, ``phone``, ``callbackNumbers``...) or
right after words that do ("call me on", "my mobile is", "SSN").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "NO_HINTS",
    "PHONE_WORDS",
    "SSN_WORDS",
    "KeyHints",
    "key_hints",
    "mentions",
    "near_words",
]

_TOKENS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_PHONE_PARTS = ("phone", "mobile", "msisdn", "callback", "whatsapp", "landline", "cellular")
_PHONE_TOKENS = frozenset({"tel", "cell", "fax", "ani", "sms", "contactnumber"})
_SSN_PARTS = ("socialsecurity", "taxid", "taxpayerid", "taxnumber")
_SSN_TOKENS = frozenset({"ssn", "ssns", "tin", "itin"})

PHONE_WORDS = re.compile(
    r"(?i)\b(?:(?:tele)?phone|tel|mobile|cell(?:phone)?|whats\s?app|sms|fax|landline"
    r"|call(?:\s?back|\s+me|\s+us)|ring\s+me|text\s+me|reach\s+me|contact\s+me)\b"
)
SSN_WORDS = re.compile(r"(?i)\b(?:ssn|social\s+security(?:\s+(?:number|no))?|tax\s?id|itin)\b")
_REACH = 24  # characters between the words and the number ("phone number is: ", "on ")
_AFTER = 16  # ... or between the number and the words after it (" is my mobile")


@dataclass(frozen=True, slots=True)
class KeyHints:
    """What a mapping key says about the values under it."""

    phone: bool = False
    ssn: bool = False


NO_HINTS = KeyHints()


@functools.lru_cache(maxsize=4096)
def key_hints(key: str) -> KeyHints:
    """``phone``/``mobileNumber``/``callback_numbers`` hold phone numbers; ``ssn``/
    ``socialSecurityNumber``/``taxId``/``TIN`` hold SSNs. Case and separators do not matter;
    short names count only as whole words (``tel`` but not ``hotel``, ``tin`` but not
    ``setting``)."""
    if not key:
        return NO_HINTS
    flat = re.sub(r"[^a-z0-9]", "", key.lower())
    tokens = {t.lower() for t in _TOKENS.findall(key)}
    phone = any(p in flat for p in _PHONE_PARTS) or not _PHONE_TOKENS.isdisjoint(tokens)
    ssn = any(p in flat for p in _SSN_PARTS) or not _SSN_TOKENS.isdisjoint(tokens)
    return KeyHints(phone, ssn) if phone or ssn else NO_HINTS


# Every word of both patterns contains one of these: a text (lower-cased) none of them is in
# holds no such word, which one search of this pattern tells far faster than the patterns.
_STEMS = re.compile(
    r"ph|tel|mobile|cell|whats|sms|fax|landline|call|ring me|text me|reach me|contact me"
    r"|ssn|social|tax|itin"
)


def mentions(lowered: str) -> bool:
    """Whether a lower-cased text may hold a phone or SSN word (a cheap, one-sided test)."""
    return _STEMS.search(lowered) is not None


def near_words(words: re.Pattern[str], text: str, start: int, end: int) -> bool:
    """Whether ``words`` end shortly before ``start`` or begin shortly after ``end``."""
    lo, hi = max(0, start - _REACH - 20), end + _AFTER
    if not mentions(f"{text[lo:start]} {text[end:hi]}".lower()):
        return False
    for m in words.finditer(text, lo, start):
        if start - m.end() <= _REACH:
            return True
    return words.search(text, end, hi) is not None
