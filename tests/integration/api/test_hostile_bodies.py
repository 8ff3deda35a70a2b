"""Hostile bodies on the three endpoints that take one (``POST /oauth/token``,
``POST /v1/sessions``, ``POST /v1/chat-state/persist``), against the real app on a private
database and topics: never a 5xx, every 4xx names the problem without quoting the value, and
every snapshot the API accepted (202) is one stage 1 accepts too: nothing the API takes in is
dead-lettered later.

Hypothesis drives the bodies (bounded: ~60 s in all); it runs in a worker thread and hands each
request to the test's event loop, where the app, its pool and its producer live.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.core.snapshots import GuardedSnapshot, parse_snapshot
from schemas.limits import MAX_DEPTH, MAX_KEY_CHARS, MAX_VALUE_CHARS
from tests.integration.api.support import (
    RunningApi,
    StackSlice,
    customer_hash,
    read_topic,
    snapshot_body,
    topic_size,
)

pytestmark = pytest.mark.integration

PERSIST, SESSIONS, TOKEN = "/v1/chat-state/persist", "/v1/sessions", "/oauth/token"
SECRET = "Planted-Value-9f2e"  # planted in values: must never come back in an answer
JSON_TYPE = {"content-type": "application/json"}
T = TypeVar("T")

HOSTILE_TEXT = st.sampled_from([
    "\x00", f"{SECRET}\x00", "\ud800", f"{SECRET}\udfff", SECRET * 20, "v" * (MAX_VALUE_CHARS + 1),
    "\u2028", "\U0001F600", f"{SECRET}\n", "[REDACTED:email]", "4111 1111 1111 1111",
])
HOSTILE_KEY = st.sampled_from(["k" * (MAX_KEY_CHARS + 1), "\x00", "\ud800", "customerIdHashed",
                               "a@b.example", "paymentToken"]) | st.text(max_size=8)
HOSTILE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.integers(min_value=10**95, max_value=10**150) | st.text(max_size=12) | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_KEY, inner, max_size=3),
    max_leaves=12,
)
HASHES = st.sampled_from([customer_hash(), customer_hash() + "\n", customer_hash() + "\x00",
                          customer_hash().upper(), "\ud800", SECRET, ""]) | HOSTILE
TIMESTAMPS = st.sampled_from([99999999999999999999, "99999999999999999999", -1, 1e300,
                              "9999-12-31T23:59:59-01:00", "2025-03-01T12:00:00Z",
                              1740830400000]) | HOSTILE
SPLICES = st.sampled_from([b"", b"\xff", b"\xed\xa0\x80", b"\\u0000", b"\\ud800", b"9" * 5000,
                           b"1e400", b"NaN", b"[" * 300, b"}", b'"', b"\\"])


def _with_depth(body: bytes, levels: int) -> bytes:
    return body.replace(b'"@@"', b"[" * levels + b"1" + b"]" * levels)


# Acceptable yet awkward: what must come out of stage 1 as it went into the API.
AWKWARD = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(max_size=12) | st.sampled_from([
        "\u2028", "\U0001F600", "[REDACTED:email]", "4111 1111 1111 1111", "x@example.com",
        "v" * (MAX_VALUE_CHARS - 20) + " 4111111111111111", "m" * 7980 + " 4111111111111111"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=12,
)


@st.composite
def persist_bodies(draw: st.DrawFn) -> bytes:
    """Half of them hostile somewhere (a value, the time, an id, the depth, a spliced byte),
    half awkward but acceptable, so the check that stage 1 accepts every 202 has work to do."""
    hostile = draw(st.booleans())
    values = HOSTILE if hostile else AWKWARD
    doc = snapshot_body(str(uuid.uuid4()))
    if hostile:
        doc["timestamp"] = draw(TIMESTAMPS)
    keys = st.sampled_from(["lastAgentMessage", "intent", "stepsCompleted"]) | st.text(max_size=8)
    doc["stateSnapshot"] |= draw(st.dictionaries(keys, values, max_size=3))
    doc["customProperties"] = draw(st.dictionaries(
        HOSTILE_KEY if hostile else st.text(max_size=8), values, max_size=3))
    if hostile and draw(st.booleans()):
        doc["customProperties"]["customerIdHashed"] = draw(HASHES)
    if hostile and draw(st.booleans()):
        doc[draw(st.sampled_from(["persistentSessionId", "conversationId"]))] = draw(HASHES)
    doc["customProperties"]["nest"] = "@@"
    levels = draw(st.integers(0, 2 * MAX_DEPTH if hostile else MAX_DEPTH - 3))
    body = _with_depth(json.dumps(doc).encode(), levels)
    if not hostile:
        return body
    at = draw(st.integers(0, len(body)))
    return body[:at] + draw(SPLICES) + body[at + draw(st.integers(0, 2)):]


@st.composite
def session_bodies(draw: st.DrawFn) -> bytes:
    doc: dict[str, Any] = {"customerIdHashed": draw(HASHES), "extra": "@@"}
    body = _with_depth(json.dumps(doc).encode(), draw(st.integers(0, 1200)))
    at = draw(st.integers(0, len(body)))
    return body[:at] + draw(SPLICES) + body[at:]


FORM_VALUES = st.sampled_from(["client_credentials", "%00", "%ED%A0%80", "%FF", SECRET,
                               "x" * 5000, "", "a%0A", "sessions snapshots"]) | st.text(max_size=10)


@st.composite
def token_bodies(draw: st.DrawFn) -> bytes:
    fields = draw(st.dictionaries(
        st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "\x00"]),
        FORM_VALUES, max_size=4))
    return "&".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "surrogatepass")


def check_answer(r: httpx.Response) -> None:
    """Never a 5xx; a 4xx is JSON that says what is wrong (and where, for a 422), never the
    value that was wrong."""
    assert r.status_code < 500, (r.status_code, r.text)
    assert SECRET not in r.text
    if r.status_code < 400:
        return
    body = r.json()
    assert isinstance(body.get("error"), str), body
    assert body["error"], body
    assert body.get("message") or body.get("error_description"), body
    if r.status_code == 422 and body["error"] == "invalid_request":
        assert body["detail"], body
        assert all(d["loc"] and d["msg"] and d["type"] for d in body["detail"]), body


def fuzz(strategy: st.SearchStrategy[bytes], examples: int,
         send: Callable[[bytes], httpx.Response]) -> None:
    @given(body=strategy)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(body: bytes) -> None:
        check_answer(send(body))

    run()


def on_loop(loop: asyncio.AbstractEventLoop) -> Callable[[Coroutine[Any, Any, T]], T]:
    """From hypothesis's thread: run one request on the loop the app lives on."""
    def call(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)
    return call


async def test_hostile_persist_bodies_get_a_4xx_and_every_202_is_one_stage_1_accepts(
    api: RunningApi, env: StackSlice
) -> None:
    call = on_loop(asyncio.get_running_loop())
    accepted: list[str] = []

    def send(body: bytes) -> httpx.Response:
        r = call(api.client.post(PERSIST, content=body, headers=JSON_TYPE))
        if r.status_code == 202:
            accepted.append(r.json()["contentId"])
        return r

    await asyncio.to_thread(fuzz, persist_bodies(), 120, send)
    assert len(accepted) >= 10  # the check below is about something: hostile yet acceptable
    topic = env.topic("chat.snapshots")
    records = await read_topic(env.kafka_bootstrap, topic, expect=len(accepted))
    assert len(records) == len(accepted)
    for record in records:
        parsed = parse_snapshot(record.value)
        assert isinstance(parsed, GuardedSnapshot), parsed  # stage 1 would not dead-letter it


async def test_hostile_session_bodies_get_a_4xx(api: RunningApi) -> None:
    call = on_loop(asyncio.get_running_loop())
    await asyncio.to_thread(fuzz, session_bodies(), 60, lambda body: call(
        api.client.post(SESSIONS, content=body, headers=JSON_TYPE)))


async def test_hostile_token_forms_get_a_4xx(api: RunningApi) -> None:
    call = on_loop(asyncio.get_running_loop())
    await asyncio.to_thread(fuzz, token_bodies(), 40, lambda body: call(api.anonymous.post(
        TOKEN, content=body, headers={"content-type": "application/x-www-form-urlencoded"})))


# ---- each known hostile class, with the answer it gets -----------------------------------------


def _persist_case(**changes: Any) -> bytes:
    doc = snapshot_body(str(uuid.uuid4())) | {"customProperties": {}}
    for path, value in changes.items():
        target, *rest = path.split("__")
        if rest:
            doc[target][rest[0]] = value
        else:
            doc[target] = value
    return json.dumps(doc).encode()


PERSIST_CASES = [
    ("trailing newline in the customer hash", _persist_case(
        customProperties__customerIdHashed=customer_hash() + "\n"),
     "body.customProperties", "value_error"),
    ("NUL in free text", _persist_case(stateSnapshot__lastAgentMessage=f"{SECRET}\x00"),
     "body.stateSnapshot", "unstorable_text"),
    ("over-long key", _persist_case(customProperties__x=None).replace(
        b'"x"', json.dumps("k" * (MAX_KEY_CHARS + 1)).encode()),
     "body.customProperties", "attribute_too_large"),
    ("over-long value", _persist_case(customProperties__note="v" * (MAX_VALUE_CHARS + 1)),
     "body.customProperties", "attribute_too_large"),
    ("huge number", _persist_case(customProperties__n=10**120),
     "body.customProperties", "attribute_too_large"),
    ("number past Python's int limit", _persist_case(customProperties__n="@@").replace(
        b'"@@"', b"9" * 5000), "body", "json_invalid"),
    ("timestamp past 9999", _persist_case(timestamp=99999999999999999999),
     "body.timestamp", "timestamp_out_of_range"),
    ("nesting past the cap", _with_depth(_persist_case(customProperties__x="@@"), MAX_DEPTH),
     "body.customProperties", "too_deeply_nested"),
    ("nesting past the parser's guard", _with_depth(_persist_case(customProperties__x="@@"),
                                                    5000), "body", "json_invalid"),
    ("lone surrogate", _persist_case(customProperties__note="@@").replace(
        b'"@@"', b'"\\ud800"'), "body", "json_invalid"),
    ("NaN", _persist_case(customProperties__n="@@").replace(b'"@@"', b"NaN"),
     "body.customProperties", "non_finite_number"),
]


@pytest.mark.parametrize(("case", "body", "loc", "type_"), PERSIST_CASES,
                         ids=[c[0] for c in PERSIST_CASES])
async def test_each_hostile_snapshot_class_gets_a_422_naming_where_and_what(
    api: RunningApi, env: StackSlice, case: str, body: bytes, loc: str, type_: str
) -> None:
    r = await api.client.post(PERSIST, content=body, headers=JSON_TYPE)
    assert r.status_code == 422, (case, r.text)
    check_answer(r)
    assert (loc, type_) in {(d["loc"], d["type"]) for d in r.json()["detail"]}, r.text
    assert await topic_size(env.kafka_bootstrap, env.topic("chat.snapshots")) == 0


@pytest.mark.parametrize("value", [customer_hash() + "\n", customer_hash() + "\x00",
                                   customer_hash().upper(), "\ud800"])
async def test_a_customer_hash_that_is_not_exactly_a_digest_gets_a_422_not_a_500(
    api: RunningApi, value: str
) -> None:
    r = await api.client.post(SESSIONS, content=json.dumps({"customerIdHashed": value}).encode(),
                              headers=JSON_TYPE)
    assert r.status_code == 422, r.text
    check_answer(r)
    assert r.json()["detail"][0]["loc"] in ("body.customerIdHashed", "body")
