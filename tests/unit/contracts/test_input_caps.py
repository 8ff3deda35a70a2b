"""Each known hostile class of input meets its own reason code, in each of the three parsers
(Genesys envelopes, snapshots, commands), at the boundary of each cap in ``schemas.limits``;
never ``parser_error``, never an exception, never the value in the detail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from processor.api.models import IssueSessionIn
from processor.core.commands import parse_command
from processor.core.normalise import parse_genesys
from processor.core.route import COMMANDS, CONVERSATIONS, SNAPSHOTS, Inbound, parse_all
from processor.core.snapshots import GuardedSnapshot, parse_snapshot
from schemas.commands import SessionCommand
from schemas.dlq import DeadLetterReason as R
from schemas.limits import (
    MAX_DEPTH,
    MAX_KEY_CHARS,
    MAX_KEYS,
    MAX_NUMBER_DIGITS,
    MAX_RECORD_BYTES,
    MAX_VALUE_CHARS,
)
from schemas.observation import Accepted, Rejected
from schemas.snapshot import SHA256_HEX

CID = "0b4e7c8a-1111-4222-8333-444455556666"
PSID = "9f0c8f8e-7d6c-4b5a-9e8d-1c2b3a4f5e6d"
HASH = "ab" * 32
SECRET = "planted-secret-4111"  # must never appear in a detail


def snapshot(**custom: Any) -> dict[str, Any]:
    return {"persistentSessionId": PSID, "conversationId": CID,
            "timestamp": "2025-03-01T12:00:00Z",
            "stateSnapshot": {"intent": "billing", "stepsCompleted": 2},
            "customProperties": custom}


def envelope(attrs: dict[str, Any], **participant: Any) -> dict[str, Any]:
    return {"topicName": f"v2.users.{CID}.conversations", "version": "2",
            "eventBody": {"id": CID, "participants": [
                {"id": "p-cust", "purpose": "customer", "attributes": attrs, **participant}]}}


def command(**overrides: Any) -> dict[str, Any]:
    return {"persistentSessionId": PSID, "issuedAt": "2025-03-01T12:00:00Z",
            "command": {"type": "close_session", "reason": "requested", **overrides}}


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def rejected(result: object, reason: R) -> Rejected:
    assert isinstance(result, Rejected), result
    assert result.reason is reason, result
    assert SECRET not in result.detail
    assert "4111" not in result.detail
    return result


# ---- the issue's record: a timestamp past 9999 stopped the stream ----------------------------


@pytest.mark.parametrize("ts", [99999999999999999999, "99999999999999999999", -1, 1e300,
                                "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_timestamp_out_of_range_is_an_invalid_snapshot_not_an_exception(ts: Any) -> None:
    doc = snapshot() | {"timestamp": ts}
    r = rejected(parse_snapshot(raw(doc)), R.INVALID_SNAPSHOT)
    assert r.detail.startswith("timestamp: timestamp_out_of_range")


def test_a_genesys_time_past_the_last_utc_datetime_is_an_invalid_envelope() -> None:
    doc = envelope({}, connectedTime="9999-12-31T23:59:59.000-01:00")
    assert "connectedTime" in rejected(parse_genesys(raw(doc)), R.INVALID_ENVELOPE).detail


# ---- nesting: explicit cap, below every parser's recursion -----------------------------------


def deep(doc: dict[str, Any], levels: int, *, under: tuple[str, ...] = ()) -> bytes:
    """``doc`` as JSON with a value nesting the record ``levels`` deep at ``doc[under...]["x"]``
    (written as text: ``json.dumps`` itself recurses)."""
    target = doc
    for key in under:
        target = target[key]
    target["x"] = "@@"
    inner = levels - 1 - len(under)  # the record's object and ``under``'s objects
    return raw(doc).replace(b'"@@"', b"[" * inner + b"1" + b"]" * inner)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 150, 1_000, 100_000])
def test_nesting_past_the_cap_is_too_deeply_nested_in_every_input(levels: int) -> None:
    rejected(parse_snapshot(deep(snapshot(), levels, under=("customProperties",))),
             R.TOO_DEEPLY_NESTED)
    rejected(parse_snapshot(deep(snapshot(), levels)), R.TOO_DEEPLY_NESTED)
    rejected(parse_genesys(deep(envelope({}), levels)), R.TOO_DEEPLY_NESTED)
    rejected(parse_command(deep(command(), levels)), R.TOO_DEEPLY_NESTED)
    rejected(parse_snapshot(b"[" * levels + b"]" * levels), R.TOO_DEEPLY_NESTED)


def test_nesting_at_the_cap_is_accepted() -> None:
    body = deep(snapshot(), MAX_DEPTH, under=("customProperties",))
    assert isinstance(parse_snapshot(body), GuardedSnapshot)
    assert isinstance(parse_genesys(deep(envelope({}), MAX_DEPTH)), Accepted)
    assert isinstance(parse_command(deep(command(), MAX_DEPTH)), SessionCommand)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = "[{" * 200 + '\\"' + "]}" * 3
    assert isinstance(parse_genesys(raw(envelope({"note": text}))), Accepted)
    assert isinstance(parse_snapshot(raw(snapshot(note=text[:MAX_VALUE_CHARS]))), GuardedSnapshot)


# ---- sizes: record, keys, values, key counts, numbers ----------------------------------------


def test_a_record_over_the_size_cap_is_record_too_large_before_parsing() -> None:
    big = b" " * MAX_RECORD_BYTES + b"{}"
    for parse in (parse_genesys, parse_snapshot, parse_command):
        rejected(parse(big), R.RECORD_TOO_LARGE)


@pytest.mark.parametrize(("custom", "ok"), [
    ({"k" * MAX_KEY_CHARS: 1}, True),
    ({"k" * (MAX_KEY_CHARS + 1): 1}, False),
    ({"note": "v" * MAX_VALUE_CHARS}, True),
    ({"note": "v" * (MAX_VALUE_CHARS + 1)}, False),
    ({f"k{i}": 1 for i in range(MAX_KEYS)}, True),
    ({f"k{i}": 1 for i in range(MAX_KEYS + 1)}, False),
    ({"n": 10**MAX_NUMBER_DIGITS - 1}, True),
    ({"n": 10**MAX_NUMBER_DIGITS}, False),
    ({"deep": {"x" * (MAX_KEY_CHARS + 1): 1}}, False),
])
def test_snapshot_attribute_caps_are_attribute_too_large(custom: dict[str, Any], ok: bool) -> None:
    doc = snapshot(**custom)
    if ok:
        assert isinstance(parse_snapshot(raw(doc)), GuardedSnapshot)
    else:
        rejected(parse_snapshot(raw(doc)), R.ATTRIBUTE_TOO_LARGE)
    doc["stateSnapshot"] = dict(custom)  # the same caps under stateSnapshot's own keys
    assert isinstance(parse_snapshot(raw(doc)), GuardedSnapshot if ok else Rejected)


@pytest.mark.parametrize(("attrs", "ok"), [
    ({"k" * MAX_KEY_CHARS: "v"}, True),
    ({"k" * (MAX_KEY_CHARS + 1): "v"}, False),
    ({"note": "v" * MAX_VALUE_CHARS}, True),
    ({"note": "v" * (MAX_VALUE_CHARS + 1)}, False),
    ({f"k{i}": "v" for i in range(MAX_KEYS + 1)}, False),
])
def test_genesys_customer_attribute_caps_are_attribute_too_large(
    attrs: dict[str, Any], ok: bool
) -> None:
    result = parse_genesys(raw(envelope({"persistentSessionId": PSID} | attrs)))
    if ok:
        assert isinstance(result, Accepted)
    else:
        rejected(result, R.ATTRIBUTE_TOO_LARGE)


def test_an_over_long_key_is_never_quoted_and_a_key_that_could_be_a_value_is_starred() -> None:
    r = rejected(parse_snapshot(raw(snapshot(**{SECRET * 20: 1}))), R.ATTRIBUTE_TOO_LARGE)
    assert "$.customProperties" in r.detail
    r = rejected(parse_snapshot(raw(snapshot(**{"4111111111111111": "\x00"}))),
                 R.INVALID_SNAPSHOT)
    assert "$.customProperties.*" in r.detail


def test_numbers_past_pythons_int_limit_and_non_finite_ones_are_refused() -> None:
    for parse in (parse_genesys, parse_snapshot, parse_command):
        rejected(parse(b'{"n": ' + b"9" * 5000 + b"}"), R.INVALID_JSON)
        rejected(parse(b'{"n": NaN}'), R.INVALID_JSON)
        rejected(parse(b'{"n": -Infinity}'), R.INVALID_JSON)
    # 1e400 is valid JSON that reads as infinity: not a number a consumer can read back.
    body = raw(snapshot()).replace(b'"customProperties": {}', b'"customProperties": {"n": 1e400}')
    assert "not finite" in rejected(parse_snapshot(body), R.INVALID_SNAPSHOT).detail


# ---- text PostgreSQL cannot store: refused, not stripped --------------------------------------


def test_nul_in_snapshot_text_or_keys_is_an_invalid_snapshot() -> None:
    for doc in (snapshot(note="a\x00b"), snapshot(**{"k\x00": 1}),
                snapshot() | {"stateSnapshot": {"lastAgentMessage": "hi\x00"}}):
        assert "NUL" in rejected(parse_snapshot(raw(doc)), R.INVALID_SNAPSHOT).detail


def test_nul_in_text_chatstate_keeps_from_genesys_is_an_invalid_envelope() -> None:
    rejected(parse_genesys(raw(envelope({"persistentSessionId": PSID}, queueId="q\x00"))),
             R.INVALID_ENVELOPE)


def test_nul_in_a_genesys_field_chatstate_never_reads_does_not_cost_the_record() -> None:
    doc = envelope({"persistentSessionId": PSID}, name="Guest\x00")
    assert isinstance(parse_genesys(raw(doc)), Accepted)


def test_nul_in_a_command_is_an_invalid_command() -> None:
    rejected(parse_command(raw(command(reason="x\x00"))), R.INVALID_COMMAND)


def test_lone_surrogates_and_invalid_utf8_are_invalid_json() -> None:
    lone = b'{"persistentSessionId": "\\ud800"}'
    for parse in (parse_genesys, parse_snapshot, parse_command):
        rejected(parse(lone), R.INVALID_JSON)
        rejected(parse(b'{"a": "\xff\xfe"}'), R.INVALID_JSON)
        rejected(parse(None), R.INVALID_JSON)  # type: ignore[arg-type]  # a tombstone


def test_a_surrogate_pair_is_an_ordinary_character() -> None:
    body = raw(snapshot(note="smile \U0001F600"))  # json.dumps writes it as \\ud83d\\ude00
    assert b"\\ud83d" in body
    assert isinstance(parse_snapshot(body), GuardedSnapshot)


def test_duplicate_keys_the_last_one_wins() -> None:
    body = raw(snapshot(note="first"))[:-1] + b', "customProperties": {"note": "last"}}'
    parsed = parse_snapshot(body)
    assert isinstance(parsed, GuardedSnapshot)
    assert parsed.snapshot.custom_properties == {"note": "last"}


# ---- patterns: a trailing newline is not part of a digest ------------------------------------


def test_a_digest_with_a_trailing_newline_is_refused_everywhere() -> None:
    assert SHA256_HEX.match(HASH)
    assert not SHA256_HEX.match(HASH + "\n")
    with pytest.raises(ValueError, match="SHA-256"):
        IssueSessionIn(customer_id_hashed=HASH + "\n")
    rejected(parse_snapshot(raw(snapshot(customerIdHashed=HASH + "\n"))), R.INVALID_SNAPSHOT)


# ---- parse_all: one verdict per record, whatever the mix -------------------------------------


def test_parse_all_gives_every_record_its_own_verdict_and_never_raises() -> None:
    values: list[tuple[str, Any]] = [
        (SNAPSHOTS, raw(snapshot() | {"timestamp": 99999999999999999999})),
        (SNAPSHOTS, b"[" * 5000),
        (COMMANDS, None),
        (COMMANDS, raw(command())),
        (CONVERSATIONS, b"\xff"),
        (CONVERSATIONS, raw(envelope({"persistentSessionId": PSID}))),
    ]
    records = [Inbound(logical, logical, 0, i, None, v) for i, (logical, v) in enumerate(values)]
    kinds = [type(p).__name__ for p in parse_all(records)]
    assert kinds == ["Rejected", "Rejected", "Rejected", "SessionCommand", "Rejected", "Accepted"]



@pytest.mark.parametrize(("field", "limit"), [
    ("customProperties.note", MAX_VALUE_CHARS), ("stateSnapshot.lastAgentMessage", 8000)])
def test_redaction_never_pushes_an_accepted_snapshot_over_a_cap(field: str, limit: int) -> None:
    """The API produces the redacted snapshot and stage 1 validates it again: a marker longer
    than what it replaced must not turn a 202 into a dead letter."""
    doc = snapshot()
    part, key = field.split(".")
    doc[part][key] = "x" * (limit - 17) + " 4111111111111111"
    first = parse_snapshot(raw(doc))
    assert isinstance(first, GuardedSnapshot)
    dumped = first.snapshot.model_dump(by_alias=True)
    assert len(dumped[part][key]) > limit  # the marker made it longer
    assert isinstance(parse_snapshot(first.snapshot.to_json_bytes()), GuardedSnapshot)
    doc[part][key] = "x" * (limit + 1)  # the cap itself still holds
    assert isinstance(parse_snapshot(raw(doc)), Rejected)
