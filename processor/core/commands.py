"""Reading ``chat.session-commands``: the API's and the timers' commands, as untrusted bytes.

The API and the timers write these records, but anything may reach the topic, and a command's
strings all reach the database: the whole record is held to the caps of :mod:`schemas.limits`
(depth, sizes, storable text) before the contract (:class:`SessionCommand`) reads it.
"""

from __future__ import annotations

from pydantic import ValidationError

from processor.core.normalise import validation_detail
from processor.core.pii import DEFAULT_REGION, scan
from processor.core.rawjson import Refused, load
from processor.core.snapshots import reason_of
from schemas.commands import SessionCommand
from schemas.dlq import DeadLetterReason
from schemas.limits import check_tree
from schemas.observation import Rejected

__all__ = ["parse_command"]


def parse_command(raw: bytes, *, region: str = DEFAULT_REGION) -> SessionCommand | Rejected:
    """A record of ``chat.session-commands`` -> a command, or why not. Never raises.

    Its free text (a close reason, who asked) goes onward to the internal topic and the
    database, so it passes the PII guard like a snapshot does (ids and times it never alters)."""
    try:
        data = load(raw)
        if not isinstance(data, dict):
            return Rejected(reason=DeadLetterReason.NOT_AN_OBJECT,
                            detail="a command is a JSON object")
        if problem := check_tree(data):  # a command's strings all reach the database
            return Rejected(reason=problem.reason or DeadLetterReason.INVALID_COMMAND,
                            detail=problem.message)
        guarded = scan(data, region=region)
        return SessionCommand.model_validate(guarded.value if guarded.findings else data)
    except Refused as r:
        return Rejected(reason=r.reason, detail=r.detail)
    except ValidationError as exc:
        return Rejected(reason=reason_of(exc, DeadLetterReason.INVALID_COMMAND),
                        detail=validation_detail(exc))
    except Exception as exc:  # the promise is "never raises": a bug must not stop stage 1
        return Rejected(reason=DeadLetterReason.PARSER_ERROR, detail=type(exc).__name__)
