"""Planted PII for the fuzz suite: seeded test values of every kind the guard must catch, written
in the forms a careless producer uses, and a search for them in whatever chatstate wrote.

Every value planted is registered (:class:`Plants`); the search looks for each value's *needle*
(digits only for cards, SSNs and phones; compact upper case for IBANs; case-folded for e-mail
addresses) in a normalised view of each haystack (JSON ``\\uXXXX`` escapes decoded, Unicode
NFKC, format characters dropped, separators between digits removed), so a value that leaks in
another spelling than it was planted in is still found. Reports name the kind, the plant's number
and its record class, never the value."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["Leak", "Plant", "Plants", "luhn_digit", "normalised"]

_FULLWIDTH = {ord("0") + i: 0xFF10 + i for i in range(10)}  # full-width digits
_FORMAT_CHARS = {c: None for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}
_CARD_STYLES = [
    ("spaces", " "),
    ("dashes", "-"),
    ("nbsp", "\u00a0"),
    ("dots", "."),
    ("thin_space", "\u2009"),
    ("zero_width", "\u200b"),
    ("slashes", "/"),
    ("digits", ""),
    ("fullwidth", ""),
]
_DRAMA = [
    (a, "496", "0") for a in ("113", "114", "116", "117", "118", "121", "131", "141", "151", "161")
]
_DRAMA += [("20", "7946", "0"), ("28", "9649", "6"), ("29", "2018", "0")]
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[\s./\-()+]+(?=[0-9])")
_IBAN_SEP = re.compile(r"[\s.\-]+")


def luhn_digit(body: str) -> str:
    """The check digit that makes ``body + digit`` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _iban_check(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(digits) % 97:02d}"


def normalised(data: bytes | str) -> tuple[str, str, str]:
    """(text, digits joined across separators, compact upper case) views of a haystack."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if "\\u" in text:
        text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if not text.isascii():  # ASCII is its own NFKC form and has no format characters
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from escapes
        text = unicodedata.normalize("NFKC", text).translate(_FORMAT_CHARS)
    return text.casefold(), _BETWEEN_DIGITS.sub("", text), _IBAN_SEP.sub("", text).upper()


@dataclass(frozen=True)
class Plant:
    number: int
    kind: str  # card, ssn, email, phone, iban
    form: str  # how it was written: nbsp, fullwidth, json_number, national, undashed, ...
    klass: str  # the record class that carried it
    needle: str  # what is searched for (never printed)

    def view(self) -> int:
        """Which of :func:`normalised`'s views this needle is searched in."""
        return {"email": 0, "iban": 2}.get(self.kind, 1)

    def __repr__(self) -> str:  # never the value, also not in pytest's assertion rewriting
        return f"{self.kind}[{self.form}]#{self.number}({self.klass})"


@dataclass(frozen=True)
class Leak:
    plant: Plant
    place: str  # e.g. "chat.dlq value", "table snapshots", "worker log"
    at: str = ""  # e.g. "p2@17", "line 40"

    def __str__(self) -> str:
        return f"{self.plant!r} found in {self.place} {self.at}".rstrip()


@dataclass
class Plants:
    """Seeded PII values; each ``card()``/``ssn()``/... call plants and registers a new one."""

    rng: random.Random
    planted: list[Plant] = field(default_factory=list)
    used: set[str] = field(default_factory=set)  # needles are unique: a leak names one plant
    klass: str = ""  # set by the generator before each record class

    def _plant(self, kind: str, form: str, needle: str) -> None:
        self.used.add(needle)
        self.planted.append(Plant(len(self.planted), kind, form, self.klass, needle))

    def _digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def card_digits(self, form: str = "digits") -> str:
        """A Luhn-valid card number, digits only; ``form`` says where the caller puts it."""
        prefix, length = self.rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15)])
        number = ""
        while not number or number in self.used:
            body = prefix + self._digits(length - len(prefix) - 1)
            number = body + luhn_digit(body)
        self._plant("card", form, number)
        return number

    def card(self) -> str:
        """A Luhn-valid card number in one of the spellings people paste."""
        style = self.rng.randrange(len(_CARD_STYLES))
        name, sep = _CARD_STYLES[style]
        d = self.card_digits(name)
        if name == "fullwidth":
            return d.translate(_FULLWIDTH)
        return sep.join(d[i : i + 4] for i in range(0, len(d), 4))

    def ssn(self, dashed: bool = True) -> str:
        s = ""
        while not s or s in self.used:
            area = self.rng.choice([n for n in range(1, 900) if n != 666])
            s = f"{area:03d}{self.rng.randrange(1, 100):02d}{self.rng.randrange(1, 10000):04d}"
        self._plant("ssn", "dashed" if dashed else "undashed", s)
        return f"{s[:3]}-{s[3:5]}-{s[5:]}" if dashed else s

    def email(self) -> str:
        local = f"{self.rng.choice(['jane', 'j.doe', 'max+chat'])}{self._digits(5)}"
        value = f"{local}@example-{self._digits(4)}.co.uk"
        self._plant("email", "plain", value.casefold())
        return value

    def phone(self, national: bool = False) -> str:
        """A British number from Ofcom's drama ranges that libphonenumber holds valid (the
        mobile drama range 07700 900xxx is not), e.g. +44 20 7946 0123 or 0113 496 0123."""
        area, mid, tail = self.rng.choice(_DRAMA)
        while (nsn := f"{area}{mid}{tail}{self._digits(3)}") in self.used:
            pass
        self._plant("phone", "national" if national else "international", nsn)
        number = f"{area} {mid} {nsn[len(area) + len(mid) :]}"
        return f"0{number}" if national else f"+44 {number}"

    def iban(self) -> str:
        bban = f"WEST{self._digits(6)}{self._digits(8)}"
        compact = f"GB{_iban_check('GB', bban)}{bban}"
        self._plant("iban", "grouped", compact)
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

    def any(self) -> str:
        """One value of a random kind, in a random form."""
        pick = self.rng.randrange(6)
        if pick == 0:
            return self.ssn()
        if pick == 1:
            return self.email()
        if pick == 2:
            return self.phone()
        if pick == 3:
            return self.iban()
        return self.card()

    def leaks(self, place: str, data: bytes | str, at: str = "") -> list[Leak]:
        views = normalised(data)
        return [Leak(p, place, at) for p in self.planted if p.needle in views[p.view()]]
