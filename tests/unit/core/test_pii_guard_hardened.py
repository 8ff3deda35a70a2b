"""The hardened PII guard: what issue 12 found it missing is found now, in the original text.

Cards written with other separators, other digits or invisible characters; cards sent as JSON
numbers or used as keys; IBANs; undashed SSNs and national phone numbers where the key or the
words say so; REJECT policies that key case or nesting used to bypass. Every value is synthetic:
well-known test card numbers, the IBAN registry's examples, reserved phone ranges.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.core.pii import (
    Finding,
    PiiKind,
    Policy,
    format_findings,
    iban_valid,
    redact_text,
    scan,
)

CARD = "4111111111111111"
GROUPS = ["4111", "1111", "1111", "1111"]
# Separators a card's groups have been seen with: ASCII, Unicode spaces, invisible characters.
SEPARATORS = [
    " ", "-", ".", "/", " - ", "  ",
    "\u00a0",  # no-break space
    "\u2009",  # thin space
    "\u202f",  # narrow no-break space
    "\u3000",  # ideographic space
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u2060",  # word joiner
    "\u00ad",  # soft hyphen
    "\u2011",  # non-breaking hyphen
    "\u2013",  # en dash
]  # fmt: skip
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def digits_left(text: str) -> str:
    """Every digit of any script still in ``text``, as ASCII."""
    return "".join(str(int(ch)) for ch in text if ch.isdecimal())


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s[0]):04X}x{len(s)}" for s in SEPARATORS])
def test_a_card_with_any_separator_is_redacted_and_the_rest_kept(sep: str) -> None:
    text = f"Merci ! carte : {sep.join(GROUPS)}, fin"
    redacted, kinds = redact_text(text)
    assert kinds == [PiiKind.CARD_NUMBER]
    assert redacted == "Merci ! carte : [REDACTED:card_number], fin"


@pytest.mark.parametrize("table", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
@pytest.mark.parametrize("sep", ["", " ", "\u3000"])
def test_a_card_in_other_digits_is_redacted(table: dict[int, str], sep: str) -> None:
    text = "カード " + sep.join(GROUPS).translate(table) + " です"
    redacted, kinds = redact_text(text)
    assert kinds == [PiiKind.CARD_NUMBER]
    assert redacted == "カード [REDACTED:card_number] です"


NO_DIGITS = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Nd", "No"]), max_size=30
)


@given(NO_DIGITS, st.sampled_from(SEPARATORS), st.booleans(), NO_DIGITS)
def test_no_digit_of_a_disguised_card_survives(
    before: str, sep: str, wide: bool, after: str
) -> None:
    card = sep.join(GROUPS)
    if wide:
        card = card.translate(FULL_WIDTH)
    redacted, kinds = redact_text(f"{before} {card} {after}")
    assert PiiKind.CARD_NUMBER in kinds
    assert digits_left(redacted) == ""


def test_the_same_card_is_found_as_a_number_a_float_and_a_key() -> None:
    doc = {"a": int(CARD), "b": float(CARD), "c": {CARD: "x"}, "d": [5555555555554444]}
    result = scan(doc)
    assert result.value == {
        "a": "[REDACTED:card_number]",
        "b": "[REDACTED:card_number]",
        "c": {"[REDACTED:card_number]": "x"},
        "d": ["[REDACTED:card_number]"],
    }
    assert [(f.path, f.kind) for f in result.findings] == [
        ("$.a", PiiKind.CARD_NUMBER),
        ("$.b", PiiKind.CARD_NUMBER),
        ("$.c.[REDACTED:card_number]", PiiKind.CARD_NUMBER),
        ("$.d[0]", PiiKind.CARD_NUMBER),
    ]


def test_ordinary_numbers_and_keys_are_left_alone() -> None:
    doc = {"total": 1234.56, "steps": 3, "at": 1714557600000, "123456": True, "big": 10**30}
    assert scan(doc).value == doc
    assert scan(doc).clean


def test_a_key_redacted_like_an_existing_key_does_not_overwrite_it() -> None:
    doc = {CARD: 1, "[REDACTED:card_number]": 2}
    assert scan(doc).value == {"[REDACTED:card_number]#2": 1, "[REDACTED:card_number]": 2}


# ---- IBAN ----------------------------------------------------------------------------------

REGISTRY_EXAMPLES = [
    "GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00",
    "FR14 2004 1010 0505 0001 3M02 606", "NL91 ABNA 0417 1643 00", "NO93 8601 1117 947",
    "BE68 5390 0754 7034", "CH93 0076 2011 6238 5295 7", "ES91 2100 0418 4502 0005 1332",
    "IT60 X054 2811 1010 0000 0123 456", "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
]  # fmt: skip


@pytest.mark.parametrize("iban", REGISTRY_EXAMPLES)
@pytest.mark.parametrize("form", ["grouped", "compact", "lower"])
def test_an_iban_is_redacted_grouped_or_compact(iban: str, form: str) -> None:
    shown = {"grouped": iban, "compact": iban.replace(" ", ""), "lower": iban.lower()}[form]
    redacted, kinds = redact_text(f"refund to {shown} please")
    assert kinds == [PiiKind.IBAN]
    assert redacted == "refund to [REDACTED:iban] please"


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """Valid IBANs of a few countries: a random numeric BBAN and the check digits for it."""
    country, length = draw(st.sampled_from([("DE", 22), ("FR", 27), ("GB", 22), ("NO", 15)]))
    bban = draw(st.from_regex(rf"[0-9]{{{length - 4}}}", fullmatch=True))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


@given(ibans(), st.booleans())
def test_every_valid_iban_is_found(iban: str, grouped: bool) -> None:
    assert iban_valid(iban)
    shown = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if grouped else iban
    redacted, kinds = redact_text(f"IBAN: {shown}.")
    assert PiiKind.IBAN in kinds
    assert iban[4:] not in redacted.replace(" ", "")


@given(ibans())
def test_an_iban_with_a_wrong_check_digit_is_not_an_iban(iban: str) -> None:
    wrong = iban[:2] + f"{(int(iban[2:4]) + 1) % 100:02d}" + iban[4:]
    assert not iban_valid(wrong)
    assert PiiKind.IBAN not in redact_text(f"ref {wrong}")[1]


# ---- SSN: undashed only where the key or the words say so ---------------------------------


@pytest.mark.parametrize(
    "key", ["ssn", "SSN", "customerSsn", "social_security", "socialSecurityNumber", "taxId",
            "TIN", "tax-id", "context.ssn"],
)  # fmt: skip
@pytest.mark.parametrize("value", ["123456789", "123 45 6789", 123456789])
def test_an_undashed_ssn_under_an_ssn_like_key_is_redacted(key: str, value: object) -> None:
    result = scan({key: value})
    assert result.findings == [Finding(f"$.{key}", PiiKind.SSN)]
    assert result.value == {key: "[REDACTED:ssn]"}


@pytest.mark.parametrize("key", ["orderId", "ticket", "setting", "destination", "tracking"])
def test_nine_digits_under_other_keys_are_kept(key: str) -> None:
    assert scan({key: "123456789"}).clean


def test_an_undashed_ssn_after_the_word_is_redacted_and_elsewhere_kept() -> None:
    assert redact_text("my SSN is 123456789") == ("my SSN is [REDACTED:ssn]", [PiiKind.SSN])
    assert redact_text("social security number: 123 45 6789")[1] == [PiiKind.SSN]
    assert redact_text("order 123456789 arrived") == ("order 123456789 arrived", [])


# ---- phone numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["phone", "mobileNumber", "callbackNumbers", "tel", "msisdn",
                                 "contact_phone", "context.cellPhone", "ANI"])  # fmt: skip
@pytest.mark.parametrize("value", ["4155550100", "415 555 0100", 4155550100])
def test_a_national_number_under_a_phone_like_key_is_redacted(key: str, value: object) -> None:
    result = scan({key: [value]})
    assert result.findings == [Finding(f"$.{key}[0]", PiiKind.PHONE)]


def test_the_region_decides_which_national_formats_are_read() -> None:
    assert scan({"mobile": "07911 123456"}, region="GB").findings
    assert redact_text("my mobile is 07911 123456", region="GB")[1] == [PiiKind.PHONE]
    assert redact_text("my mobile is 07911 123456", region="US")[1] == []


@pytest.mark.parametrize(
    "text",
    ["call me on 415 555 0100", "my cell is 4155550100", "whatsapp: (415)5550100",
     "Tel. 415 555 0100", "4155550100 is my mobile"],
)  # fmt: skip
def test_a_national_number_next_to_phone_words_is_redacted(text: str) -> None:
    redacted, kinds = redact_text(text)
    assert kinds == [PiiKind.PHONE]
    assert "555" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "order 4155550100 shipped",
        "ticket 415 555 0100",
        "call center ticket 1234567 reopened",
        "phone orders placed last year, then order 4155550100 was cancelled",  # word too far
    ],
)
def test_a_national_number_without_phone_words_nearby_is_kept(text: str) -> None:
    assert redact_text(text) == (text, [])


def test_international_numbers_are_redacted_everywhere() -> None:
    for text in ("+44 20 7946 0958", "+1 (415) 555-0100", "+33 1 23 45 67 89", "+4930901820"):
        redacted, kinds = redact_text(f"order ref {text}")
        assert kinds == [PiiKind.PHONE], text
        assert not re.search(r"\d{2}", redacted.removeprefix("order ref ")), text


# ---- REJECT policies -----------------------------------------------------------------------

POLICY = {"$.customProperties.paymentToken": Policy.REJECT}


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"paymentToken": CARD}, "$.customProperties.paymentToken"),
        ({"PaymentToken": CARD}, "$.customProperties.PaymentToken"),
        ({"PAYMENTTOKEN": CARD}, "$.customProperties.PAYMENTTOKEN"),
        ({"paymentToken": {"value": CARD}}, "$.customProperties.paymentToken.value"),
        ({"paymentToken": [{"pan": int(CARD)}]}, "$.customProperties.paymentToken[0].pan"),
    ],
)
def test_reject_covers_every_case_of_the_key_and_everything_below(
    doc: dict[str, object], path: str
) -> None:
    result = scan({"customProperties": doc}, POLICY)
    assert result.rejected == [Finding(path, PiiKind.CARD_NUMBER)]


def test_reject_does_not_reach_a_sibling_whose_name_only_starts_alike() -> None:
    result = scan({"customProperties": {"paymentTokenHint": CARD}}, POLICY)
    assert result.findings
    assert result.rejected == []


def test_findings_format_as_a_header_without_values() -> None:
    result = scan({"a": CARD, "b": {CARD: "jane.doe@example.com"}})
    header = format_findings(result.findings)
    assert (
        header == "$.a:card_number,$.b.[REDACTED:card_number]:card_number,"
        "$.b.[REDACTED:card_number]:email"
    )
    assert CARD not in header
    assert "example.com" not in header


def test_the_default_region_is_a_setting_checked_at_start() -> None:
    from pydantic import ValidationError

    from processor.settings import Settings

    assert Settings().pii_default_region == "US"
    assert Settings(pii_default_region="GB").pii_default_region == "GB"
    for wrong in ("gb", "XX", "GB\n"):
        with pytest.raises(ValidationError, match="CHATSTATE_PII_DEFAULT_REGION"):
            Settings(pii_default_region=wrong)


@given(st.text(max_size=60), st.sampled_from(["", "note", "phone", "ssn"]))
def test_any_text_comes_back_whole_when_nothing_was_found(text: str, key: str) -> None:
    """Any string (lone surrogates from JSON escapes included) under any key: no exception, and
    the very same object back when no PII was found."""
    redacted, kinds = redact_text(text, key=key)
    if not kinds:
        assert redacted is text
