"""Reading a record's JSON under the caps (processor/core/rawjson.py): what a consumer hands
over becomes bytes or a refusal, nesting is counted without recursion, and a parser's complaint
never quotes the record."""

from __future__ import annotations

import pytest

from processor.core.rawjson import Refused, as_bytes, depth_of, json_error, load
from schemas.dlq import DeadLetterReason


def test_text_and_buffers_become_bytes_and_a_tombstone_is_refused() -> None:
    assert as_bytes("{}") == b"{}"
    assert as_bytes(bytearray(b"[1]")) == b"[1]"
    assert as_bytes(memoryview(b"2")) == b"2"
    with pytest.raises(Refused) as caught:
        as_bytes(None)
    assert caught.value.reason is DeadLetterReason.INVALID_JSON
    assert caught.value.detail == "the record's value is NoneType"


@pytest.mark.parametrize(
    ("raw", "depth"),
    [(b"1", 0), (b"{}", 1), (b'{"a": [1, {"b": []}]}', 4), (b'["[[[", {"}": "]]"}]', 2)],
)
def test_depth_counts_containers_and_ignores_brackets_inside_strings(
    raw: bytes, depth: int
) -> None:
    assert depth_of(raw) == depth


def test_a_parse_error_names_its_kind_never_the_text_it_met() -> None:
    with pytest.raises(Refused) as caught:
        load(b'{"card": 4111111111111111x}')
    assert caught.value.reason is DeadLetterReason.INVALID_JSON
    assert "4111" not in caught.value.detail
    assert json_error(ValueError("expected value at line 1 column 9")) == "expected value"
    assert json_error(KeyError("secret")) == "KeyError"
