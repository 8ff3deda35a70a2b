"""The parsers' quick paths decide nothing of their own: each gives exactly the answer of the
general walk it shortcuts, for hostile values too (issue 14 made them fast, not different).

``check_tree`` clears plain JSON (exact ``dict``/``list``/``str``/``int``) without building paths;
any other mapping or sequence type is walked path by path, so a value dressed in other types
must meet the same verdict. ``scan`` likewise walks a plain ``dict``/``list`` by identity and
anything else through its general branches: the same value, findings and rejections."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from processor.core.pii import Policy, scan
from schemas.limits import MAX_DEPTH, MAX_KEY_CHARS, MAX_KEYS, MAX_VALUE_CHARS, check_tree

HOSTILE_TEXT = st.sampled_from([
    "\x00", "a\x00b", "\ud800", "\udfff tail", "k" * (MAX_KEY_CHARS + 1), "k" * MAX_KEY_CHARS,
    "v" * (MAX_VALUE_CHARS + 1), "v" * MAX_VALUE_CHARS, "[REDACTED:card_number]" * 400,
    "4111 1111 1111 1111", "jane@example.com", "+44 20 7946 0958", "123-45-6789",
    "call me on 415 555 0100", "\uff14\uff11\uff11\uff11" * 4, "ok", "",
])
KEYS = st.text(max_size=8) | HOSTILE_TEXT | st.sampled_from(["phone", "ssn", "cardToken"])
LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.integers(min_value=10**95, max_value=10**120)
    | st.integers(min_value=10**11, max_value=10**17) | st.text(max_size=20) | HOSTILE_TEXT
)
JSON_LIKE = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=24,
)


def nested(levels: int) -> Any:
    value: Any = "x"
    for i in range(levels):
        value = [value] if i % 2 else {"a": value}
    return value


class Items(list[Any]):
    """A list by another type: ``check_tree`` reads it as a list, by the general walk."""


def dressed(value: Any) -> Any:
    """The same value in types the quick paths leave to the general walk."""
    if isinstance(value, dict):
        return OrderedDict((k, dressed(v)) for k, v in value.items())
    if isinstance(value, list):
        return Items(dressed(v) for v in value)
    return value


def proxied(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: proxied(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(proxied(v) for v in value)
    return value


@given(JSON_LIKE, st.integers(min_value=1, max_value=3))
@example(nested(MAX_DEPTH), 1)
@example(nested(MAX_DEPTH + 1), 1)
@example({f"k{i}": i for i in range(MAX_KEYS + 1)}, 1)
@example({"a": [1, {"b": 10**100}]}, 2)
@example({"a": [1, {"b": -(10**100)}]}, 2)
@example({"a": [float("nan")]}, 1)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_check_tree_gives_the_general_walks_verdict(value: Any, depth: int) -> None:
    assert check_tree(value, "$.x", depth) == check_tree(dressed(value), "$.x", depth)


@given(JSON_LIKE, st.sampled_from(["US", "GB"]))
@example({"note": "4111 1111 1111 1111", "n": 4111111111111111, "phone": 4155550100}, "US")
@example({"4111111111111111": "a", "cardToken": {"x": "jane@example.com"}}, "US")
@example([{"phone": [99999, 100000, "415 555 0100"]}], "US")
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_scan_gives_the_general_walks_answer(value: Any, region: str) -> None:
    policy = {"$.cardToken": Policy.REJECT, "$[0].phone": Policy.REJECT}
    quick = scan(value, policy, region=region)
    general = scan(proxied(value), policy, region=region)
    assert quick.value == general.value
    assert quick.findings == general.findings
    assert quick.rejected == general.rejected
