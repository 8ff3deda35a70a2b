"""Detectors for PII that is a number with a structure: payment cards, IBANs, US SSNs.

Each reads the normalised text (``pii_normalise``) and returns spans; the guard decides what to
replace. False positives cost as much as misses (a redacted order number breaks a resumption),
so each detector is narrow: a card must carry a real network's prefix, a length that network
issues and a valid Luhn digit, printed the way cards are printed; an IBAN must have its
country's exact length and a valid mod-97 check; an SSN is dashed, unless the field or the words
before it say it is an SSN.
"""

from __future__ import annotations

import re

__all__ = ["card_spans", "iban_spans", "iban_valid", "luhn_valid", "ssn_spans"]

Span = tuple[int, int]

# A run of digit groups joined by a separator people print cards with (one or two spaces, or a
# dash, dot or slash with a space either side at most), not glued to other word characters (so
# the digit parts of UUIDs and Genesys ids never form a run) nor part of a decimal number.
_SEP = r"(?: {1,2}| ?[-./] ?)"
_DIGIT_RUN = re.compile(rf"(?<![\w.+-])[0-9]+(?:{_SEP}[0-9]+)*(?![\w-]|\.[0-9])")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_MAX_CARD_GROUPS = 5  # 4-4-4-4-3 (19 digits) is the longest grouping cards are printed in

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


def _is_card(digits: str) -> bool:
    if not 13 <= len(digits) <= 19:
        return False
    for low, high, width, lengths in _CARD_NETWORKS:
        if low <= int(digits[:width]) <= high and len(digits) in lengths:
            return luhn_valid(digits)
    return False


def card_spans(text: str) -> list[Span]:
    """Where card numbers are: each run of digit groups is searched for a window of groups
    printed the way cards are (one block of 13-19, 4-4-4-x, 4-4-4-4-x, 4-6-4/5) that is a valid
    card. Searching windows, not whole runs, is what finds a card right after another number
    ("order 123456 4111 1111 1111 1111")."""
    spans: list[Span] = []
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


def _card_window(text: str, groups: list[Span], i: int, j: int) -> bool:
    window = groups[i:j]
    lengths = [b - a for a, b in window]
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
    seps = {text[window[k][1] : window[k + 1][0]] for k in range(n - 1)}
    if len(seps) > 1:
        return False
    sep = seps.pop() if seps else None
    # A neighbour joined by a dash, dot or slash belongs to the same token (an id, a phone
    # number, a date) unless the card itself is space-separated; such a card must stand alone.
    if sep is None or sep.strip():
        if i > 0 and text[groups[i - 1][1] : window[0][0]].strip():
            return False
        if j < len(groups) and text[window[-1][1] : groups[j][0]].strip():
            return False
    return _is_card("".join(text[a:b] for a, b in window))


# ---- IBAN (ISO 13616) ----------------------------------------------------------------------

# Lengths per country (SWIFT IBAN registry); a country not listed has no IBAN.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
# Country, check digits, then alphanumeric groups joined by single spaces (or nothing), standing
# alone: no dashes (a UUID is hex groups joined by dashes), no word character either side.
_IBAN = re.compile(r"(?<![\w-])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}(?![\w-])")


def iban_valid(compact: str) -> bool:
    """ISO 13616: the country's length, then mod 97 of the rearranged number is 1."""
    compact = compact.upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def iban_spans(text: str) -> list[Span]:
    """IBANs printed compact or in groups; a match that runs on into the next word is cut back
    to the country's length when it ends there at a group boundary."""
    spans: list[Span] = []
    for m in _IBAN.finditer(text):
        length = _IBAN_LENGTHS.get(m.group(0)[:2].upper())
        if length is None:
            continue
        count = 0
        for pos in range(m.start(), m.end()):
            if text[pos] != " ":
                count += 1
                if count == length:
                    end = pos + 1
                    if end == m.end() or text[end] == " ":
                        compact = text[m.start() : end].replace(" ", "")
                        if iban_valid(compact):
                            spans.append((m.start(), end))
                    break
    return spans


# ---- US Social Security numbers -----------------------------------------------------------

_SSN_BODY = r"(?!000|666|9[0-9][0-9])[0-9]{3}{sep}(?!00)[0-9]{2}{sep}(?!0000)[0-9]{4}"
_SSN_DASHED = re.compile(r"(?<![\w-])" + _SSN_BODY.replace("{sep}", "-") + r"(?![\w-])")
# Undashed (123456789) or spaced (123 45 6789): only where the field or the words say "SSN".
_SSN_ANY = re.compile(r"(?<![\w-])" + _SSN_BODY.replace("{sep}", "[ -]?") + r"(?![\w-])")


def ssn_spans(text: str, *, any_form: bool = False) -> list[Span]:
    """Dashed SSNs; with ``any_form`` (an SSN-like key or words) also undashed and spaced."""
    pattern = _SSN_ANY if any_form else _SSN_DASHED
    return [m.span() for m in pattern.finditer(text)]
