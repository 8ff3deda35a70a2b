"""build_dead_letter: no raw PII in any part, byte for byte when clean, always under the cap, the
encrypted original round-trips and nothing is kept in clear without a key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.dlq import (
    MIN_MAX_BYTES,
    ORIGINAL_HEADER,
    TRUNCATED_HEADER,
    DeadLetter,
    DeadLetterError,
    Original,
    build_dead_letter,
    decrypt_original,
    split_headers,
)
from processor.errors import ConfigError
from schemas.dlq import DeadLetterInfo, DeadLetterReason, Stage

KEY = Fernet.generate_key().decode()
CARD = "4111 1111 1111 1111"
MAIL = "jane.doe@example.com"
SSN = "123-45-6789"
PLANTED = (CARD, "4111111111111111", MAIL, SSN, "jane.doe")
BIG = 1024 * 1024


def info(**changes: object) -> DeadLetterInfo:
    base = DeadLetterInfo(
        source_topic="chat.snapshots",
        source_partition=2,
        source_offset=41,
        stage=Stage.NORMALISE,
        reason=DeadLetterReason.INVALID_SNAPSHOT,
        detail="stateSnapshot: field required",
        failed_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    )
    return base.model_copy(update=changes)


def everything(dead: DeadLetter) -> bytes:
    """Every byte of the record but the Fernet token (ciphertext is checked on its own)."""
    parts = [dead.key or b"", dead.value]
    for name, value in dead.headers:
        parts += [name.encode(), value if name != ORIGINAL_HEADER else b""]
    return b"\n".join(parts)


HOSTILE_VALUES = {
    "json": f'{{"note": "card {CARD}", "mail": "{MAIL}", "n": 4111111111111111}}'.encode(),
    "json_key": f'{{"{MAIL}": 1, "nested": [{{"ssn": "{SSN}"}}]}}'.encode(),
    "not_json": f"plain text, call me at {MAIL} card {CARD}".encode(),
    "invalid_utf8": b"\xff\xfe garbage " + CARD.encode() + b" \xc3\x28 " + MAIL.encode(),
    "broken_json": b'{"note": "' + CARD.encode() + b'", ',
    "escaped_json": b'{"m": "jane.doe\\u0040example.com"}',
}


@pytest.mark.parametrize("encryption_key", [None, KEY], ids=["no_key", "key"])
@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_no_raw_pii_in_key_headers_or_value(name: str, encryption_key: str | None) -> None:
    dead = build_dead_letter(
        MAIL.encode(),
        HOSTILE_VALUES[name],
        [("x-customer", f"{MAIL} {CARD}".encode()), (f"x-{MAIL}", b"1")],
        info(),
        encryption_key=encryption_key,
        max_bytes=BIG,
    )
    out = everything(dead)
    for planted in PLANTED:
        assert planted.encode() not in out, planted
    assert b"jane.doe\\u0040example" not in out
    assert DeadLetterInfo.from_headers(list(dead.headers)).redacted is True


def test_findings_say_where_and_what_never_the_value() -> None:
    dead = build_dead_letter(
        MAIL.encode(),
        HOSTILE_VALUES["json"],
        [("x-customer", MAIL.encode())],
        info(),
        encryption_key=None,
        max_bytes=BIG,
    )
    found = DeadLetterInfo.from_headers(list(dead.headers)).findings.split(",")
    assert found == [
        "key$:email",
        "headers[x-customer]$:email",
        "$.note:card_number",
        "$.mail:email",
        "$.n:card_number",
    ]


def test_a_clean_record_is_kept_byte_for_byte() -> None:
    key, value = b"6f1c\x00key", b'{"a": 1,  "b" : "x"}\n'
    headers = [("traceparent", b"00-abc-01"), ("empty", b"")]
    dead = build_dead_letter(key, value, headers, info(), encryption_key=None, max_bytes=BIG)
    assert dead.key is key
    assert dead.value is value
    original, ours = split_headers(dead.headers)
    assert original == headers
    assert ours == info().headers()  # redacted=false, no findings, nothing truncated
    assert ORIGINAL_HEADER not in dict(dead.headers)


def test_without_a_key_nothing_is_kept_in_clear_and_there_is_nothing_to_decrypt() -> None:
    dead = build_dead_letter(
        None, HOSTILE_VALUES["json"], [], info(), encryption_key=None, max_bytes=BIG
    )
    assert [k for k, _ in dead.headers if k == ORIGINAL_HEADER] == []
    with pytest.raises(DeadLetterError, match="no encrypted original"):
        decrypt_original(dead, KEY)


byte_strings = st.binary(max_size=300) | st.sampled_from(list(HOSTILE_VALUES.values()))
header_lists = st.lists(st.tuples(st.text(max_size=20), byte_strings), max_size=4)


@settings(max_examples=150, deadline=None)
@given(key=st.none() | byte_strings, value=byte_strings, headers=header_lists)
def test_the_encrypted_original_round_trips_exactly(
    key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    dead = build_dead_letter(key, value, headers, info(), encryption_key=KEY, max_bytes=BIG)
    assert decrypt_original(dead, KEY) == Original(key, tuple(headers), value)
    token = dict(dead.headers)[ORIGINAL_HEADER]
    for planted in PLANTED:
        assert planted.encode() not in token


def test_a_rotated_key_still_opens_old_dead_letters_and_a_wrong_one_is_named() -> None:
    dead = build_dead_letter(b"k", b"v", [], info(), encryption_key=KEY, max_bytes=BIG)
    newer = Fernet.generate_key().decode()
    assert decrypt_original(dead, f"{newer},{KEY}").value == b"v"
    with pytest.raises(DeadLetterError, match="does not open"):
        decrypt_original(dead, newer)


def test_an_invalid_key_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="CHATSTATE_DLQ_ENCRYPTION_KEY"):
        build_dead_letter(b"k", b"v", [], info(), encryption_key="nope", max_bytes=BIG)


def test_the_encrypted_original_is_dropped_before_the_value_is_cut() -> None:
    value = b"x" * 20_000  # fits in 32 KiB; with its encrypted copy (4/3 larger) it does not
    dead = build_dead_letter(b"k", value, [], info(), encryption_key=KEY, max_bytes=32 * 1024)
    headers = dict(dead.headers)
    assert ORIGINAL_HEADER not in headers
    assert headers[TRUNCATED_HEADER] == b"original"
    assert dead.value == value
    assert dead.size <= 32 * 1024


def test_a_value_over_the_cap_is_cut_and_says_so() -> None:
    value = b"y" * 100_000
    dead = build_dead_letter(b"k", value, [], info(), encryption_key=None, max_bytes=MIN_MAX_BYTES)
    kept = len(dead.value)
    assert dict(dead.headers)[TRUNCATED_HEADER] == f"value={kept}/100000".encode()
    assert value.startswith(dead.value)
    assert MIN_MAX_BYTES - 200 < dead.size <= MIN_MAX_BYTES  # cut to fit, not far below


@settings(max_examples=100, deadline=None)
@given(
    key_len=st.integers(0, 80_000),
    value_len=st.integers(0, 300_000),
    header_lens=st.lists(st.integers(0, 40_000), max_size=3),
    max_bytes=st.integers(MIN_MAX_BYTES, 200_000),
    encrypted=st.booleans(),
)
def test_a_dead_letter_never_exceeds_the_cap(
    key_len: int, value_len: int, header_lens: list[int], max_bytes: int, encrypted: bool
) -> None:
    headers = [(f"h{i}", b"h" * n) for i, n in enumerate(header_lens)]
    dead = build_dead_letter(
        b"k" * key_len,
        b"v" * value_len,
        headers,
        info(),
        encryption_key=KEY if encrypted else None,
        max_bytes=max_bytes,
    )
    assert dead.size <= max_bytes
    assert (
        DeadLetterInfo.from_headers(list(dead.headers)).reason is DeadLetterReason.INVALID_SNAPSHOT
    )


def test_a_cap_too_small_for_chatstates_own_headers_is_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        build_dead_letter(b"k", b"v", [], info(), encryption_key=None, max_bytes=1000)
