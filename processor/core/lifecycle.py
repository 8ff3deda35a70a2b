"""A persistent session's whole lifecycle, as one pure function.

``decide(session, update, policy)`` returns the session after the update and what must follow
from it (conversation rows, a snapshot history row, alerts). It reads no clock — *now* is the
update's ``received_at`` — and does no I/O, so replaying the same updates always computes the
same sessions; the sink and the agents only carry out what it decides. The state diagram and
the rules in words are in ``docs/lifecycle.md``.

Rules that are easy to get wrong, and why they are this way (each rule module states its own):

- A session starts on first sight (many deployments issue ids from their own back end), unless
  ``require_issued`` is set: then an id chatstate did not issue raises ``unknown_session``.
- ``version`` grows by one for every update that changed anything, and only then.

``decide`` only dispatches and versions; the rules are in sibling modules: a conversation
observed (ended stays ended, the second tab, the returning customer) in
:mod:`processor.core.observe_rules`, a snapshot (latest by timestamp, the same twice is a no-op)
in :mod:`processor.core.snapshot_rules`, close/expire/archive in
:mod:`processor.core.command_rules`, issuing, erasure and purge (and the deny list) in
:mod:`processor.core.removal` (a removal is a ``Decision`` with ``removal`` set);
:class:`Decision` and the derived ids in :mod:`processor.core.decision`.
"""

from __future__ import annotations

import uuid
from collections.abc import Set as AbstractSet
from datetime import datetime

from processor.core.command_rules import archive, close, expire
from processor.core.decision import (
    Decision,
    LifecyclePolicy,
    SnapshotRow,
    alert,
    evolve,
    state_id,
)
from processor.core.observe_rules import observe
from processor.core.removal import issued_session, removal_of
from processor.core.snapshot_rules import apply_snapshot
from schemas.alerts import Alert, AlertType, Severity
from schemas.commands import (
    ApplySnapshot,
    ArchiveSession,
    CloseSession,
    EraseSession,
    ExpireSession,
    ObserveConversation,
    PurgeSession,
    SessionIssued,
    SessionUpdate,
)
from schemas.session import SessionState, SessionStatus

__all__ = ["Decision", "LifecyclePolicy", "SnapshotRow", "alert", "decide", "state_id"]


def decide(
    session: SessionState | None,
    update: SessionUpdate,
    policy: LifecyclePolicy,
    *,
    issued: bool = True,
    known_snapshots: AbstractSet[str] = frozenset(),
    erased: bool = False,
) -> Decision:
    """Apply one update. ``issued`` says whether chatstate's API issued this id (only consulted
    for a session seen for the first time under ``require_issued``); ``known_snapshots`` are the
    content ids already in the session's snapshot history (the same snapshot twice is a no-op);
    ``erased``: the session (or, for a new one, its customer) is on the deny list."""
    now = update.received_at
    psid = update.persistent_session_id
    cmd = update.command
    if isinstance(cmd, EraseSession | PurgeSession):
        removal = removal_of(session, cmd, psid, retention=policy.retention,
                             purge_after=policy.purge_after)
        return Decision(session if removal is None else None, removal=removal)
    if erased:
        return Decision(None)  # refused without an alert: one would name the erased id
    if session is not None and session.lifecycle_event is not None:
        session = evolve(session, {"lifecycle_event": None})  # set per version
    if isinstance(cmd, SessionIssued):
        issued_state = issued_session(session, cmd, psid, now)
        if issued_state is None:
            return Decision(session)
        session = evolve(issued_state, {"version": 0})
        return _versioned(Decision(session, True), session, psid, now)
    fresh = session is None
    if session is None:
        if policy.require_issued and not issued:
            return Decision(None, alerts=[_unknown_session(update)])
        session = _first_sight(psid, now)

    if isinstance(cmd, ObserveConversation):
        d = observe(session, cmd.observation, now, policy)
    elif isinstance(cmd, ApplySnapshot):
        d = (
            Decision(session)
            if cmd.content_id in known_snapshots
            else apply_snapshot(session, cmd, now, policy)
        )
    elif isinstance(cmd, CloseSession):
        d = close(session, now)
    elif isinstance(cmd, ExpireSession):
        d = expire(session, cmd.due_at, now)
    elif isinstance(cmd, ArchiveSession):
        d = archive(session, cmd.due_at, policy)
    else:  # pragma: no cover - the Command union is closed
        raise TypeError(f"unknown command {type(cmd).__name__}")
    if fresh and not d.changed:
        # A new session is a change in itself (it now exists).
        d = Decision(d.session, True, d.conversations, d.snapshot, d.alerts)
    return _versioned(d, session, psid, now)


def _versioned(d: Decision, before: SessionState, psid: uuid.UUID, now: datetime) -> Decision:
    """A change is a new version: ``version`` + 1, ``updated_at`` and the derived state id."""
    if not d.changed or d.session is None:
        return d
    version = before.version + 1
    return Decision(
        evolve(d.session, {"version": version, "updated_at": now, "id": state_id(psid, version)}),
        True,
        d.conversations,
        d.snapshot,
        d.alerts,
    )


def _first_sight(psid: uuid.UUID, now: datetime) -> SessionState:
    """A session starts on first sight (many deployments issue ids from their own back end)."""
    return SessionState(
        id=state_id(psid, 0),
        persistent_session_id=psid,
        status=SessionStatus.IDLE,
        version=0,
        created_at=now,
        updated_at=now,
    )


def _unknown_session(update: SessionUpdate) -> Alert:
    """Under ``require_issued``, an id chatstate did not issue is ignored, and said so."""
    psid = update.persistent_session_id
    return alert(
        AlertType.UNKNOWN_SESSION,
        Severity.WARNING,
        "an update named a persistentSessionId chatstate did not issue; ignored",
        f"unknown_session:{psid}",
        update.received_at,
        persistent_session_id=psid,
        details={"command": update.command.type},
    )
