"""Phone numbers: international (``+CC``) and formatted North-American forms everywhere; other
national forms only where the field or the words say "phone".

Why two mechanisms: a leading ``+`` or the ``(415) 555-0100`` / ``415-555-0100`` shapes mark a
phone number by themselves, so a pattern finds them in any text, including numbers whose country
code Google's metadata does not know. A bare ``4155550100`` or ``020 7946 0958`` is
indistinguishable from an order or ticket number by its shape, so it is only taken for a phone
number in a phone-like field (``phone``, ``mobile``, ``callbackNumbers``; any number the
``phonenumbers`` library finds *possible* for the region) or next to words that say so ("call me
on", "my mobile"; a number the library finds *valid* for the region). The region is the
configured default (``CHATSTATE_PII_DEFAULT_REGION``).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from processor.core.pii._context import PHONE_WORDS, near_words

__all__ = ["phone_spans"]

Span = tuple[int, int]

_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?P<intl>\+[0-9]{1,3})(?P<rest>(?:[ .-]?\(?[0-9]{1,4}\)?){2,5})"  # +44 20 7946 0958
    r"|\([0-9]{3}\)\s?[0-9]{3}[-. ][0-9]{4}"  # (415) 555-0100
    r"|[0-9]{3}[-.][0-9]{3}[-.][0-9]{4}"  # 415-555-0100, 415.555.0100
    r")(?![\w-])"
)
_PHONE_GROUP = re.compile(r"[ .-]?\(?[0-9]{1,4}\)?")
_INTL_HINT = re.compile(r"\+ ?[1-9]")
# What a national number could be: 7 digits or more, with the separators people type.
_NATIONAL = re.compile(r"(?<![\w+])\(?[0-9](?:[ ().-]{0,2}[0-9]){6,16}(?![\w])")
# Under a phone-like key: 5 digits or more (some regions' national numbers are that short).
_KEYED = re.compile(r"(?<![\w+])\(?[0-9](?:[ ().-]{0,2}[0-9]){4,16}(?![\w])")
_INTL_REACH = 32  # "+" and the longest written international number after it
_UNKNOWN_REGION = "ZZ"  # phonenumbers' "no region": only numbers written with + are found


def _plausible(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    return 8 <= digits <= 15


def _phone_end(m: re.Match[str]) -> int | None:
    """End of the phone number in a match, or None: an international number's greedy groups
    may have swallowed a following number, so groups are given back until it is plausible."""
    if m["intl"] is None:
        return m.end() if _plausible(m.group(0)) else None
    ends = [g.end() for g in _PHONE_GROUP.finditer(m.string, m.start("rest"), m.end("rest"))]
    for k in range(len(ends), 1, -1):
        end = ends[k - 1]
        if end < m.end() and (m.string[end].isalnum() or m.string[end] == "-"):
            continue
        if _plausible(m.string[m.start() : end]):
            return end
    return None


def _library_spans(text: str, start: int, end: int, region: str, leniency: int) -> list[Span]:
    """Numbers the library finds in ``text[start:end]`` (a candidate, not the whole text: its
    matcher costs a hundred times a pattern, and a hostile record may be a megabyte)."""
    try:
        found = PhoneNumberMatcher(text[start:end], region, leniency=leniency)
        return [(start + m.start, start + m.end) for m in found]
    except phonenumbers.NumberParseException:  # a region the metadata does not know
        return []


def phone_spans(
    text: str, *, keyed: bool = False, region: str = "US", digits: int = 99, worded: bool = True
) -> list[Span]:
    """Phone numbers in ``text`` (normalised, holding ``digits`` ASCII digits). ``keyed``: the
    field is phone-like; ``worded``: the text may hold phone words (``mentions``). Words are
    looked for only around a candidate number, not everywhere."""
    spans: list[Span] = []
    if digits >= 8:
        for m in _PHONE.finditer(text):
            end = _phone_end(m)
            if end is not None:
                spans.append((m.start(), end))
        # The library as a backstop for a "+" the pattern found no number at (a grouping it
        # does not know).
        if "+" in text:
            starts = {a for a, _ in spans}
            windows: list[list[int]] = []  # overlapping windows merged: one library call each
            for m in _INTL_HINT.finditer(text):
                if m.start() in starts:
                    continue
                if windows and m.start() <= windows[-1][1]:
                    windows[-1][1] = m.start() + _INTL_REACH
                else:
                    windows.append([m.start(), m.start() + _INTL_REACH])
            for a, b in windows:
                spans += _library_spans(text, a, b, _UNKNOWN_REGION, Leniency.VALID)
    if keyed:
        for m in _KEYED.finditer(text):
            spans += _library_spans(text, m.start(), m.end(), region, Leniency.POSSIBLE)
    elif worded:
        for m in _NATIONAL.finditer(text):
            if near_words(PHONE_WORDS, text, *m.span()):
                spans += _library_spans(text, m.start(), m.end(), region, Leniency.VALID)
    return spans
