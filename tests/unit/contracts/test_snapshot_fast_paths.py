"""The snapshot contract's size shortcut (``schemas/snapshot.py``) never changes a verdict: the
bound is never below the exact size. It runs on every snapshot at the input and on every decode
of the internal topic (issue 14); near the limit the exact measure decides, so a hostile
internal record is still refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.limits import MAX_KEY_CHARS, MAX_VALUE_CHARS, text_length
from schemas.snapshot import (
    MAX_SNAPSHOT_BYTES,
    SnapshotIn,
    StateSnapshot,
    _flat_size_bound,
)

PSID = "9f0c8f8e-7d6c-4b5a-9e8d-1c2b3a4f5e6d"
MARKER = "[REDACTED:card]"

# Texts around every cap, with NUL, lone surrogates, escapes and redaction markers.
_chars = st.characters(codec=None, categories=None)
_texts = st.one_of(
    st.text(_chars, max_size=12),
    st.builds(lambda n, c: c * n, st.sampled_from(
        [MAX_KEY_CHARS - 1, MAX_KEY_CHARS, MAX_KEY_CHARS + 1, MAX_VALUE_CHARS,
         MAX_VALUE_CHARS + 1]), st.sampled_from(["x", "\u00e9", "\x01", "\x00", "\ud800"])),
    st.builds(lambda n: MARKER * n, st.sampled_from([20, 600, 700])),
)
_scalars = st.one_of(
    _texts, st.none(), st.booleans(), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(), st.sampled_from([10**100 - 1, 10**100, -(10**100), -(10**100) + 1]),
)


def _exact_size(state: dict[str, Any], custom: dict[str, Any] | None) -> int:
    """What ``SnapshotIn._bounded`` measures when the shortcut does not apply."""
    dumped = StateSnapshot.model_validate(state).model_dump_json()
    return text_length(dumped) + text_length(str(custom or ""))


@settings(max_examples=300)
@given(st.dictionaries(_texts, _scalars, max_size=6), st.none() | st.dictionaries(
    _texts, _scalars, max_size=6))
def test_the_size_bound_is_never_below_the_exact_size(
    state: dict[str, Any], custom: dict[str, Any] | None
) -> None:
    state = {k: v for k, v in state.items()
             if k not in ("intent", "stepsCompleted", "lastAgentMessage")}
    try:
        model = StateSnapshot.model_validate(state)
    except ValidationError:  # extras that fail serialisation are not what is checked here
        return
    bound = _flat_size_bound(model.__dict__.items(), (model.model_extra or {}).items(),
                             (custom or {}).items())
    if bound is not None:
        try:
            exact = _exact_size(state, custom)
        except ValueError:  # a value the JSON writer refuses: the exact path raises too
            return
        assert bound >= exact


@pytest.mark.parametrize(("size", "ok"), [(MAX_SNAPSHOT_BYTES - 2_000, True),
                                         (MAX_SNAPSHOT_BYTES + 2_000, False)])
def test_a_snapshot_over_the_size_limit_is_refused_around_the_limit(size: int, ok: bool) -> None:
    """Many keys of long text under every per-value cap, summing near the snapshot's limit:
    the bound cannot settle it, the exact measure decides."""
    per = 7_000
    state = {f"k{i}": "x" * per for i in range(size // per)}
    state[f"k{size // per}"] = "x" * (size - (size // per) * per - 30 * (size // per + 1))
    body = {"persistentSessionId": PSID, "timestamp": "2025-03-01T12:00:00Z",
            "stateSnapshot": state}
    if ok:
        assert SnapshotIn.model_validate(body).state_snapshot.model_extra
    else:
        with pytest.raises(ValidationError, match="snapshot too large"):
            SnapshotIn.model_validate(body)
