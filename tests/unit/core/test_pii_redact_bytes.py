"""redact_bytes: what a dead letter keeps of a record whose bytes may be anything. It never
raises, gives back the very same bytes when it found nothing, and leaves no planted PII behind,
whether the bytes are JSON, text, invalid UTF-8, deeply nested or full of huge numbers."""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from processor.core.pii import PiiKind, format_findings, redact_bytes

CARD = "4111111111111111"
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)  # 13 digits and more may be a card number
    | st.floats(-1e12, 1e12)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=300))
@example(b"\xff\xfe{")
@example(b"[" * 100_000)
@example(b'{"t": ' + b"9" * 5000 + b"}")
@example(b"\x00\x00")
def test_never_raises_and_returns_bytes_for_any_bytes(raw: bytes) -> None:
    out, findings = redact_bytes(raw)
    assert isinstance(out, bytes)
    if not findings:
        assert out is raw


@given(JSON_VALUES)
def test_a_json_document_without_pii_comes_back_as_the_same_object(value: object) -> None:
    raw = json.dumps(value).encode()
    out, findings = redact_bytes(raw)
    if not findings:
        assert out is raw
    assert CARD not in out.decode()


@given(JSON_VALUES, st.sampled_from(["string", "number", "key", "escaped"]))
def test_a_card_planted_anywhere_in_json_is_gone_and_the_rest_still_parses(
    value: object, where: str
) -> None:
    planted: object = {
        "string": {"note": f"card {CARD} thanks"},
        "number": {"amount": int(CARD)},
        "key": {CARD: "x"},
        "escaped": {"note": "".join(f"\\u{ord(c):04x}" for c in CARD)},
    }[where]
    raw = ('{"doc":' + json.dumps(value) + ',"p":' + json.dumps(planted) + "}").encode()
    if where == "escaped":
        raw = raw.replace(b"\\\\u", b"\\u")
    out, findings = redact_bytes(raw)
    assert CARD not in out.decode()
    assert json.loads(out)["doc"] == json.loads(raw)["doc"]
    assert PiiKind.CARD_NUMBER in {f.kind for f in findings}


def test_finding_paths_name_where_in_the_document_and_never_the_value() -> None:
    raw = json.dumps({"a": {"b": int(CARD)}, "c": [{"d": f"x {CARD}"}], CARD: 1}).encode()
    _, findings = redact_bytes(raw)
    header = format_findings(findings)
    assert header == ("$.a.b:card_number,$.c[0].d:card_number,$.[REDACTED:card_number]:card_number")
    assert CARD not in header


def test_text_keeps_every_byte_outside_the_match_even_invalid_utf8() -> None:
    raw = b"\xff\xfeheader " + CARD.encode() + b" \x80tail"
    out, findings = redact_bytes(raw)
    assert out == b"\xff\xfeheader [REDACTED:card_number] \x80tail"
    assert [(f.path, f.kind) for f in findings] == [("$", PiiKind.CARD_NUMBER)]


def test_an_earlier_value_of_a_repeated_key_is_redacted_too() -> None:
    raw = b'{"a": "' + CARD.encode() + b'", "a": "clean"}'
    out, _ = redact_bytes(raw)
    assert CARD.encode() not in out
    assert out == b'{"a":"[REDACTED:card_number]","a":"clean"}'


def test_too_deep_or_too_long_json_is_redacted_as_text() -> None:
    for raw in (
        b"[" * 5000 + b'"' + CARD.encode() + b'"' + b"]" * 5000,
        b'{"n": ' + b"1" * 5000 + b', "c": "' + CARD.encode() + b'"}',
    ):
        out, findings = redact_bytes(raw)
        assert CARD.encode() not in out
        assert findings


def test_two_keys_redacted_alike_both_survive() -> None:
    raw = json.dumps({CARD: 1, "5555555555554444": 2}).encode()
    out, _ = redact_bytes(raw)
    assert json.loads(out) == {"[REDACTED:card_number]": 1, "[REDACTED:card_number]#2": 2}
