"""Property tests of the PII guard: it finds every card number, SSN, e-mail address and phone
number embedded in arbitrary text, and never alters the ids, times and numbers that fill
Genesys traffic (a redacted order number breaks a resumption)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from processor.core.pii import PiiKind, luhn_valid, redact_text, scan

# (prefix, lengths) per network: the guard must know each.
NETWORKS = [
    ("4", [13, 16, 19]), ("51", [16]), ("55", [16]), ("2221", [16]), ("2720", [16]),
    ("34", [15]), ("37", [15]), ("300", [14]), ("36", [14]), ("38", [16]),
    ("6011", [16, 19]), ("65", [16]), ("3530", [16]), ("62", [16, 19]), ("50", [13, 18]),
]
ASCII_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix, lengths = draw(st.sampled_from(NETWORKS))
    length = draw(st.sampled_from(lengths))
    body = prefix + "".join(draw(st.lists(st.sampled_from("0123456789"),
                                          min_size=length - len(prefix) - 1,
                                          max_size=length - len(prefix) - 1)))
    check = next(d for d in "0123456789" if luhn_valid(body + d))
    return body + check


@st.composite
def printed_cards(draw: st.DrawFn) -> str:
    digits = draw(card_numbers())
    sep = draw(st.sampled_from(["", " ", "-"]))
    if not sep:
        return digits
    if len(digits) == 15 and draw(st.booleans()):  # Amex prints 4-6-5
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def embed(before: str, secret: str, after: str) -> str:
    return f"{before} {secret} {after}"


@given(ASCII_TEXT, printed_cards(), ASCII_TEXT)
@example("ref 1234", "4111 1111 1111 1111", "ok")  # a 4-digit group before hid the card once
@example("x", "4000 0000 0000 0000 006", "y")  # 19 digits in 4-4-4-4-3 were missed once
@example("4111", "4111-1111-1111-1111", "1111")
def test_every_luhn_valid_card_number_is_found(before: str, card: str, after: str) -> None:
    redacted, kinds = redact_text(embed(before, card, after))
    assert PiiKind.CARD_NUMBER in kinds
    assert card not in redacted


@given(ASCII_TEXT, st.from_regex(r"(?!000|666|9)[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}",
                                 fullmatch=True), ASCII_TEXT)
def test_every_dashed_ssn_is_found(before: str, ssn: str, after: str) -> None:
    redacted, kinds = redact_text(embed(before, ssn, after))
    assert kinds  # an SSN, or (as digits) part of a longer phone-like number: redacted either way
    assert ssn not in redacted


EMAILS = st.from_regex(
    r"[a-z][a-z0-9._+-]{0,20}@[a-z](?:[a-z0-9-]{0,8}[a-z0-9])?\.(com|org|co\.uk)", fullmatch=True
)


@given(ASCII_TEXT, EMAILS, ASCII_TEXT)
def test_every_email_address_is_found(before: str, email: str, after: str) -> None:
    redacted, kinds = redact_text(embed(before, email, after))
    assert PiiKind.EMAIL in kinds
    assert email not in redacted


@st.composite
def phones(draw: st.DrawFn) -> str:
    if draw(st.booleans()):  # NANP, formatted
        area, exchange, line = (draw(st.from_regex(r"[2-9][0-9]{2}", fullmatch=True)),
                                draw(st.from_regex(r"[2-9][0-9]{2}", fullmatch=True)),
                                draw(st.from_regex(r"[0-9]{4}", fullmatch=True)))
        return draw(st.sampled_from([f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}",
                                     f"{area}.{exchange}.{line}", f"+1 {area} {exchange} {line}"]))
    cc = draw(st.from_regex(r"[1-9][0-9]{0,2}", fullmatch=True))
    national = draw(st.from_regex(r"[1-9][0-9]{6,10}", fullmatch=True))
    if len(cc) + len(national) > 15:
        national = national[: 15 - len(cc)]
    if draw(st.booleans()):
        return f"+{cc}{national}"
    return f"+{cc} " + " ".join(national[i : i + 3] for i in range(0, len(national), 3))


@given(ASCII_TEXT, phones(), ASCII_TEXT)
@example("call", "+44 20 7946 0958", "12 times")
def test_every_international_or_formatted_phone_number_is_found(
    before: str, phone: str, after: str
) -> None:
    redacted, kinds = redact_text(embed(before, phone, after))
    assert kinds
    assert phone not in redacted


# ---- never altered -------------------------------------------------------------------------

SAFE = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31),
                 timezones=st.just(UTC)).map(lambda d: d.isoformat(timespec="milliseconds")
                                             .replace("+00:00", "Z")),
    st.datetimes(min_value=datetime(2001, 9, 10), max_value=datetime(2090, 12, 31),
                 timezones=st.just(UTC)).map(lambda d: str(int(d.timestamp() * 1000))),
    st.integers(min_value=100_000, max_value=999_999_999_999).map(str),  # order numbers
    st.integers(min_value=0, max_value=10**7).map(lambda c: f"{c / 100:,.2f}"),  # 1,234.56
    st.integers(min_value=0, max_value=10**6).map(lambda c: f"${c / 100:.2f}"),  # $19.99
)


@given(st.lists(SAFE, min_size=1, max_size=6))
@example(["1,234.56", "$19.99", "2024-05-01T10:00:00.000Z", "1714557600000", "123456789012"])
def test_ids_times_order_numbers_and_prices_are_never_altered(values: list[str]) -> None:
    for text in (*values, " ".join(values), ", ".join(values), "order " + " / ".join(values)):
        assert redact_text(text) == (text, [])


@given(st.dictionaries(st.sampled_from(["conversationId", "orderId", "at", "total"]), SAFE))
def test_scan_leaves_clean_documents_untouched(doc: dict[str, str]) -> None:
    result = scan({"customProperties": doc, "id": str(uuid.uuid4())})
    assert result.clean
    assert result.value["customProperties"] == doc
