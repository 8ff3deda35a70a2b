"""``decide``: how a session starts, versions and replays, and that the lifecycle stays pure
(the rules it dispatches to have their own modules: test_observe_rules, test_snapshot_rules,
test_command_rules, test_removal; docs/lifecycle.md)."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from processor.core.lifecycle import LifecyclePolicy, decide
from schemas.alerts import AlertType
from schemas.session import SessionStatus
from tests.unit.core.lifecycle_builders import (
    C1,
    C2,
    POLICY,
    T0,
    CloseSession,
    ended,
    live,
    run,
    snapshot,
    update,
)

H = timedelta(hours=1)

_PURE = {"__future__", "collections", "uuid", "dataclasses", "datetime", "typing", "hashlib",
         "enum", "schemas"}


def test_a_session_starts_on_first_sight_of_a_live_conversation() -> None:
    s, [d] = run([(live(C1, T0), T0)])
    assert s is not None
    assert s.status is SessionStatus.ACTIVE
    assert s.current_conversation_id == C1
    assert s.version == 1
    assert s.expires_at == T0 + POLICY.ttl
    assert d.conversations[0].conversation_id == C1


def test_unissued_ids_are_refused_with_an_alert_when_issuing_is_required() -> None:
    strict = LifecyclePolicy(require_issued=True)
    d = decide(None, update(live(C1, T0), T0), strict, issued=False)
    assert d.session is None
    assert [a.type for a in d.alerts] == [AlertType.UNKNOWN_SESSION]
    assert decide(None, update(live(C1, T0), T0), strict, issued=True).session is not None


def test_version_grows_by_one_per_change_and_ids_derive_from_it() -> None:
    s, ds = run(
        [(live(C1, T0), T0), (snapshot(T0 + H), T0 + H), (ended(C1, T0 + 2 * H), T0 + 2 * H)]
    )
    assert s is not None
    assert s.version == 3
    ids = {d.session.id for d in ds if d.session}
    assert len(ids) == 3, "each published state has its own id"


def test_replaying_the_same_updates_computes_the_same_session() -> None:
    story = [
        (live(C1, T0), T0),
        (snapshot(T0 + H), T0 + H),
        (live(C2, T0 + H), T0 + H),
        (ended(C1, T0 + 2 * H), T0 + 2 * H),
        (CloseSession(), T0 + 3 * H),
    ]
    a, _ = run(story)
    b, _ = run(story)
    assert a == b


def _imports(module: str) -> set[str]:
    src = Path(__file__).parents[3].joinpath(*module.split(".")).with_suffix(".py")
    imported = set()
    for node in ast.walk(ast.parse(src.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return imported


def test_the_lifecycle_imports_nothing_that_does_io() -> None:
    """The lifecycle and the sibling core modules it dispatches to import only the standard
    library's pure modules and the contracts (checked through every core module it reaches)."""
    todo, seen = ["processor.core.lifecycle"], set()
    while todo:
        module = todo.pop()
        seen.add(module)
        for name in _imports(module):
            if name.startswith("processor.core."):
                todo.extend([name] if name not in seen else [])
            else:
                assert name.split(".")[0] in _PURE, f"{module} imports {name}"
    assert "processor.core.removal" in seen
