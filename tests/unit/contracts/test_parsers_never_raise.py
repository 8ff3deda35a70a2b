"""Property tests: the three input parsers (``parse_genesys``, ``parse_snapshot``,
``parse_command``, and ``parse_all`` over them) give a verdict for any bytes whatsoever, a
rejection always carries a dead-letter reason other than ``parser_error`` (the catch-all is for
bugs, and these inputs are all classes the caps name), and what they accept is storable: no NUL,
no lone surrogate, no non-finite number, nothing past a cap."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.core.commands import parse_command
from processor.core.normalise import parse_genesys
from processor.core.rawjson import depth_of
from processor.core.route import COMMANDS, CONVERSATIONS, SNAPSHOTS, Inbound, parse_all
from processor.core.snapshots import GuardedSnapshot, parse_snapshot
from schemas.commands import SessionCommand
from schemas.dlq import DeadLetterReason
from schemas.limits import check_tree
from schemas.observation import Accepted, Rejected, Skipped

CID = "0b4e7c8a-1111-4222-8333-444455556666"
PSID = "9f0c8f8e-7d6c-4b5a-9e8d-1c2b3a4f5e6d"
Parser = Callable[[bytes], object]
PARSERS: dict[str, Parser] = {
    "genesys": parse_genesys, "snapshot": parse_snapshot, "command": parse_command}

HOSTILE_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff tail", "k" * 300,
                                "v" * 9000, "\u2028", "\U0001F600", "dup"])
HOSTILE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.integers(min_value=10**95, max_value=10**120) | st.text(max_size=20) | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=10) | HOSTILE_TEXT, inner, max_size=4),
    max_leaves=20,
)


def snapshot(custom: Any, state: Any) -> dict[str, Any]:
    return {"persistentSessionId": PSID, "conversationId": CID,
            "timestamp": "2025-03-01T12:00:00Z", "stateSnapshot": state,
            "customProperties": custom}


def envelope(attrs: Any, body_extra: Any) -> dict[str, Any]:
    return {"topicName": f"v2.routing.queues.{CID}.conversations", "version": "2",
            "eventBody": {"id": CID, "extra": body_extra, "participants": [
                {"id": "p-cust", "purpose": "customer", "attributes": attrs,
                 "chats": [{"state": "connected"}]}]}}


def command(reason: Any, extra: Any) -> dict[str, Any]:
    return {"persistentSessionId": PSID, "issuedAt": "2025-03-01T12:00:00Z", "extra": extra,
            "command": {"type": "close_session", "reason": reason}}


DOCS: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "genesys": envelope, "snapshot": snapshot, "command": command}


def check_verdict(result: object) -> None:
    """A typed verdict; a rejection names a reason that is not the catch-all; what is accepted
    holds nothing PostgreSQL or a JSON reader would refuse."""
    if isinstance(result, Rejected):
        assert isinstance(result.reason, DeadLetterReason)
        assert result.reason is not DeadLetterReason.PARSER_ERROR, result
        return
    assert isinstance(result, Accepted | Skipped | GuardedSnapshot | SessionCommand), result
    if isinstance(result, GuardedSnapshot):
        kept = result.snapshot.model_dump(mode="json", by_alias=True)
    elif isinstance(result, SessionCommand | Accepted | Skipped):
        kept = result.model_dump(mode="json", by_alias=True)
    problem = check_tree(kept)
    # Values may exceed the text cap after serialisation only where a model allows it.
    assert problem is None or problem.kind == "attribute_too_large", problem


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()  # allow_nan: NaN and Infinity are written as such


@given(st.sampled_from(sorted(PARSERS)), st.binary(max_size=600))
def test_arbitrary_bytes_give_a_verdict(parser: str, raw: bytes) -> None:
    check_verdict(PARSERS[parser](raw))


@given(st.sampled_from(sorted(PARSERS)), HOSTILE_JSON)
def test_arbitrary_json_gives_a_verdict(parser: str, doc: Any) -> None:
    check_verdict(PARSERS[parser](dumps(doc)))


@given(st.sampled_from(sorted(PARSERS)), HOSTILE_JSON, HOSTILE_JSON)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_values_where_each_contract_reads_them_give_a_verdict(
    parser: str, a: Any, b: Any
) -> None:
    check_verdict(PARSERS[parser](dumps(DOCS[parser](a, b))))


@given(st.sampled_from(sorted(PARSERS)), st.integers(min_value=1, max_value=3000),
       st.sampled_from([b"[", b'{"k":']))
def test_any_nesting_gives_a_verdict_and_past_the_cap_it_is_too_deeply_nested(
    parser: str, levels: int, opener: bytes
) -> None:
    closer = b"]" if opener == b"[" else b"}"
    raw = dumps(DOCS[parser]("@@", None)).replace(
        b'"@@"', opener * levels + b"1" + closer * levels)
    result = PARSERS[parser](raw)
    check_verdict(result)
    if levels > 64:
        assert isinstance(result, Rejected)
        assert result.reason is DeadLetterReason.TOO_DEEPLY_NESTED


@given(st.sampled_from(sorted(PARSERS)), st.data())
def test_bytes_spliced_into_a_valid_record_give_a_verdict(parser: str, data: st.DataObject) -> None:
    """Invalid UTF-8, NUL escapes, lone surrogates, huge numbers, duplicate keys, stray
    brackets, dropped bytes: anywhere in an otherwise valid record."""
    raw = dumps(DOCS[parser]({"note": "x"}, {"k": 1}))
    at = data.draw(st.integers(min_value=0, max_value=len(raw)))
    cut = data.draw(st.integers(min_value=0, max_value=3))
    splice = data.draw(st.sampled_from([
        b"\xff", b"\xed\xa0\x80", b"\\u0000", b"\x00", b"\\ud800", b"9" * 5000, b"1e400",
        b"NaN", b'"note": "y", "note": ', b"[[[[", b"}", b'"', b"\\", b"",
    ]))
    check_verdict(PARSERS[parser](raw[:at] + splice + raw[at + cut:]))


@given(st.sampled_from(sorted(PARSERS)), HOSTILE_JSON, HOSTILE_JSON)
def test_duplicate_keys_give_a_verdict_and_the_last_one_wins(
    parser: str, first: Any, last: Any
) -> None:
    raw = dumps(DOCS[parser]({"note": "x"}, None))
    head, _, _ = raw.rpartition(b"}")
    twice = head + b', "dup": ' + dumps(first) + b', "dup": ' + dumps(last) + b"}"
    check_verdict(PARSERS[parser](twice))


@given(st.lists(st.tuples(st.sampled_from([CONVERSATIONS, SNAPSHOTS, COMMANDS]),
                          st.binary(max_size=200) | HOSTILE_JSON.map(dumps)), max_size=8))
def test_parse_all_gives_one_verdict_per_record(values: list[tuple[str, bytes]]) -> None:
    records = [Inbound(logical, logical, 0, i, None, v) for i, (logical, v) in enumerate(values)]
    parsed = parse_all(records)
    assert len(parsed) == len(records)
    for p in parsed:
        check_verdict(p)


@given(st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(alphabet='[]{}"\\ab', max_size=4), inner, max_size=3),
    max_leaves=30,
))
def test_depth_of_counts_containers_and_ignores_brackets_inside_strings(doc: Any) -> None:
    assert depth_of(dumps(doc), stop=1000) == _depth(doc)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(HOSTILE_JSON, HOSTILE_JSON)
def test_a_snapshot_accepted_once_is_accepted_again_as_the_api_forwards_it(
    custom: Any, state: Any
) -> None:
    """The API produces the validated model, re-serialised: stage 1 must accept it as well."""
    first = parse_snapshot(dumps(snapshot(custom, state)))
    if isinstance(first, GuardedSnapshot):
        again = parse_snapshot(first.snapshot.to_json_bytes())
        assert isinstance(again, GuardedSnapshot), again
        assert again.content_id == first.content_id
