"""The ``sessions`` row shape (``processor/core/session_rows.py``): one list of columns, and a
session survives the trip to a row and back unchanged."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from processor.core.decision import state_id
from processor.core.session_rows import (
    DECIDED_COLUMNS,
    SESSION_COLUMNS,
    UPDATED_ON_SAVE,
    VIEW_COLUMNS,
    column_list,
    conversation_from_row,
    session_from_row,
    session_row,
)
from schemas.observation import ConversationState
from schemas.session import ConversationRecord, SessionState, SessionStatus

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIGRATION = Path(__file__).parents[3] / "processor/migrations/0001_sessions.sql"


def _table_columns() -> list[str]:
    """The columns ``CREATE TABLE sessions`` creates (no later migration alters it)."""
    body = MIGRATION.read_text().split("CREATE TABLE sessions (", 1)[1].split("\n);", 1)[0]
    return [m.group(1) for m in re.finditer(r"^    ([a-z_]+) ", body, re.MULTILINE)]


def _session() -> SessionState:
    psid = uuid.uuid4()
    conv = ConversationRecord(
        conversation_id=uuid.uuid4(), state=ConversationState.LIVE, media_type="webmessaging",
        started_at=AT, first_seen_at=AT, updated_at=AT,
    )
    return SessionState(
        id=state_id(psid, 3), persistent_session_id=psid, status=SessionStatus.ACTIVE,
        version=3, customer_id_hashed="c" * 64, previous_session_id=uuid.uuid4(),
        current_conversation_id=conv.conversation_id, conversations=[conv],
        latest_snapshot={"step": "pay"}, latest_snapshot_at=AT, latest_snapshot_content_id="x",
        last_interaction_at=AT, expires_at=AT + timedelta(hours=72), created_at=AT,
        updated_at=AT,
    )


def test_the_columns_are_the_tables() -> None:
    assert sorted(SESSION_COLUMNS) == sorted(_table_columns())
    assert len(SESSION_COLUMNS) == 14


def test_a_session_survives_a_row_and_back() -> None:
    s = _session()
    row = dict(zip(SESSION_COLUMNS, session_row(s), strict=True))
    assert session_from_row(row, s.conversations) == s


def test_a_conversation_row_reads_back() -> None:
    c = _session().conversations[0]
    row = c.model_dump() | {"state": c.state.value}
    assert conversation_from_row(row) == c


def test_a_decision_changes_only_what_an_upsert_overwrites() -> None:
    assert set(DECIDED_COLUMNS) < set(UPDATED_ON_SAVE) < set(SESSION_COLUMNS)
    # identity, lineage and creation are never overwritten; version and updated_at follow a change
    assert set(SESSION_COLUMNS) - set(UPDATED_ON_SAVE) == {
        "persistent_session_id", "previous_session_id", "created_at"}
    assert set(UPDATED_ON_SAVE) - set(DECIDED_COLUMNS) == {"version", "updated_at"}


def test_the_api_reads_only_real_columns() -> None:
    assert set(VIEW_COLUMNS) <= set(SESSION_COLUMNS)
    assert column_list(("a", "b"), "s") == "s.a, s.b"
    assert column_list(("a", "b")) == "a, b"
