"""Reading ``chat.session-commands`` (processor/core/commands.py): a command, or why not; its
free text passes the PII guard before it goes anywhere."""

from __future__ import annotations

import json
import uuid

from processor.core.commands import parse_command
from schemas.commands import CloseSession, SessionCommand
from schemas.dlq import DeadLetterReason
from schemas.observation import Rejected

PSID = str(uuid.UUID("00000000-0000-4000-8000-00000000a001"))


def command(**close: str) -> bytes:
    return json.dumps({"persistentSessionId": PSID, "issuedAt": "2026-12-01T12:00:00Z",
                       "command": {"type": "close_session", **close}}).encode()


def test_a_close_command_is_read_as_written() -> None:
    result = parse_command(command(reason="customer left"))
    assert isinstance(result, SessionCommand)
    assert isinstance(result.command, CloseSession)
    assert result.command.reason == "customer left"
    assert str(result.persistent_session_id) == PSID


def test_pii_in_a_commands_free_text_is_replaced_and_the_command_kept() -> None:
    result = parse_command(command(reason="mail test.user@example.com"))
    assert isinstance(result, SessionCommand)
    assert "example.com" not in result.model_dump_json()


def test_an_unknown_command_is_invalid_and_a_list_is_not_an_object() -> None:
    unknown = parse_command(json.dumps({"persistentSessionId": PSID, "issuedAt":
                                        "2026-12-01T12:00:00Z", "command": {"type": "x"}}).encode())
    assert isinstance(unknown, Rejected)
    assert unknown.reason is DeadLetterReason.INVALID_COMMAND
    listed = parse_command(b"[]")
    assert isinstance(listed, Rejected)
    assert listed.reason is DeadLetterReason.NOT_AN_OBJECT
