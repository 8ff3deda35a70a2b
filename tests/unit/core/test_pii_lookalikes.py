"""False positives, measured: a corpus of things that look like PII and are not (order numbers,
UUIDs and Genesys ids, ISO times, epoch ms, prices, tracking and ticket numbers, versions, IP
addresses), alone, in free text and in documents. The guard must find nothing in any of it.

The corpus is generated from a fixed seed (so a failure reproduces) plus the hand-written lines
in ``tests/fixtures/pii/lookalikes.txt``. The one honest exclusion: a 13-19 digit number that
passes the Luhn check with a card network's prefix *is* a card number by every test the guard
can make, so generated numbers that happen to be one are left out of the corpus, and
``test_a_tracking_number_that_is_also_a_valid_card_number_is_redacted`` states that choice.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from processor.core.pii import PiiKind, luhn_valid, redact_bytes, redact_text, scan

FIXTURE = Path(__file__).parents[2] / "fixtures" / "pii" / "lookalikes.txt"
PER_KIND = 300
rng = random.Random(20261202)


def _digits(n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _not_a_card(make: Callable[[], str]) -> str:
    """A value from ``make`` whose digits are not a Luhn-valid 13-19 digit number (see the
    module docstring): redrawn until so."""
    while True:
        value = make()
        digits = "".join(ch for ch in value if ch.isdigit())
        if not (13 <= len(digits) <= 19 and luhn_valid(digits)):
            return value


def _time(years: int = 89) -> datetime:
    """A time from 2001-09-10 (epoch ms reach 13 digits) on, within ``years``."""
    return datetime(2001, 9, 10, tzinfo=UTC) + timedelta(
        milliseconds=rng.randrange(int(timedelta(days=365 * years).total_seconds() * 1000))
    )


def _ups() -> str:
    return (
        "1Z"
        + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        + _digits(10)
    )


GENERATORS: dict[str, Callable[[], str]] = {
    "order number": lambda: (
        rng.choice(["", "#", "ORD-", "A-", "order "]) + _digits(rng.randint(6, 12))
    ),
    "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "genesys id": lambda: rng.choice([str.upper, str.lower, lambda s: "{" + s + "}"])(
        str(uuid.UUID(int=rng.getrandbits(128), version=4))
    ),
    "uuid hex": lambda: uuid.UUID(int=rng.getrandbits(128), version=4).hex,
    "iso time": lambda: rng.choice(
        [
            _time().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            _time().isoformat(timespec="seconds"),
            _time().strftime("%Y-%m-%d %H:%M:%S"),
            _time().strftime("%Y-%m-%d"),
            _time().astimezone().isoformat(),
        ]
    ),
    "epoch ms": lambda: str(int(_time().timestamp() * 1000)),
    # Epoch microseconds are 16 digits; from 2040-05 on they start with 2221 and can be a
    # Mastercard number (docs/contracts.md): the corpus keeps to the years before.
    "epoch s / us": lambda: rng.choice(
        [str(int(_time().timestamp())), str(int(_time(38).timestamp() * 1_000_000))]
    ),
    "price": lambda: rng.choice(
        [
            f"${rng.randrange(100_000_000) / 100:,.2f}",
            f"{rng.randrange(100_000_000) / 100:.2f}",
            f"EUR {rng.randrange(10_000_000) / 100:,.2f}".replace(",", " "),
            f"{rng.randrange(10**6)},{rng.randrange(100):02d} €",
        ]
    ),
    "ups tracking": _ups,
    "fedex tracking": lambda: _not_a_card(lambda: _digits(rng.choice([12, 15]))),
    "usps tracking": lambda: (
        rng.choice(["94", "92", "93", "420" + _digits(5) + "92"]) + _digits(rng.choice([18, 20]))
    ),
    "ticket number": lambda: rng.choice(
        [
            f"INC{_digits(7)}",
            f"CS-{rng.randint(2001, 2090)}-{_digits(6)}",
            f"#{_digits(6)}",
            f"JIRA-{rng.randint(1, 99999)}",
            f"case {_digits(8)}",
        ]
    ),
    "version": lambda: rng.choice(
        [
            f"{rng.randint(0, 30)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}",
            f"v{rng.randint(0, 30)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}-rc.{rng.randint(1, 9)}",
            f"{rng.randint(2001, 2090)}.{rng.randint(1, 12)}.{rng.randint(1, 31)}",
        ]
    ),
    "ip address": lambda: rng.choice(
        [
            ".".join(str(rng.randint(0, 255)) for _ in range(4)),
            ":".join(f"{rng.getrandbits(16):x}" for _ in range(8)),
            f"{rng.randint(1, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
            f"{rng.randint(0, 255)}:{rng.randint(1, 65535)}",
        ]
    ),
    "date": lambda: _time().strftime(rng.choice(["%m/%d/%Y", "%d.%m.%Y", "%d/%m/%y"])),
}
TEMPLATES = [
    "Your order {order number} shipped on {iso time}, tracking {ups tracking}.",
    "FedEx {fedex tracking} and USPS {usps tracking} were both delivered on {date}.",
    "Ticket {ticket number} about {price} was opened at {epoch ms} by {genesys id}.",
    "session {uuid} resumed at {iso time}, version {version} on {ip address}",
    "refund {price} for order {order number} (ticket {ticket number}) sent {date}",
    "trace {uuid hex} took {price} ms at {epoch s / us}",
]


def corpus() -> Iterator[tuple[str, str]]:
    """(kind, text) pairs: each generated value alone, then sentences mixing them, then the
    hand-written lines."""
    values = {kind: [make() for _ in range(PER_KIND)] for kind, make in GENERATORS.items()}
    for kind, generated in values.items():
        for value in generated:
            yield kind, value
    for i in range(PER_KIND):
        for template in TEMPLATES:
            yield "sentence", template.format(**{k: v[i] for k, v in values.items()})
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            yield "hand-written", line


def _report(misses: list[tuple[str, str, list[PiiKind]]]) -> str:
    """What the assertion shows: counts per corpus kind and the *redacted* form of a few."""
    counts = Counter(kind for kind, _, _ in misses)
    shown = [f"{kind}: {redacted}" for kind, redacted, _ in misses[:5]]
    return f"false positives by kind {dict(counts)}; e.g. {shown}"


def test_nothing_in_the_lookalike_corpus_is_redacted_as_text() -> None:
    misses = []
    total = 0
    for kind, text in corpus():
        total += 1
        redacted, kinds = redact_text(text)
        if kinds or redacted != text:
            misses.append((kind, redacted, kinds))
    assert total > 5000
    assert not misses, _report(misses)


def test_nothing_in_the_lookalike_corpus_is_redacted_in_documents_or_bytes() -> None:
    """The same values as a document's fields (numbers as JSON numbers where they are numbers),
    through ``scan`` and through ``redact_bytes`` (which must hand back the very same bytes)."""
    misses = []
    for kind, text in corpus():
        doc: dict[str, object] = {"orderId": text, "note": f"re: {text}", "total": 12.5}
        if text.isdigit():
            doc["number"] = int(text)
        result = scan({"stateSnapshot": doc, "customProperties": {"ref": text}})
        raw = json.dumps(doc).encode()
        out, findings = redact_bytes(raw)
        if result.findings or findings or out is not raw:
            misses.append((kind, json.dumps(result.value), [f.kind for f in result.findings]))
    assert not misses, _report(misses)


def test_a_tracking_number_that_is_also_a_valid_card_number_is_redacted() -> None:
    """The documented limit of zero false positives: 15 digits with an American Express prefix
    and a valid Luhn digit are a card number whatever the sender meant by them."""
    amex_shaped = "378282246310005"  # American Express's published test number
    assert luhn_valid(amex_shaped)
    assert redact_text(f"FedEx tracking {amex_shaped}")[1] == [PiiKind.CARD_NUMBER]
