"""Session routes for the web back end: issue a session, read its resumption context, close it.

Reads come from PostgreSQL; a close becomes a command on the session's partition, so it is
applied in order with everything else that happens to the session. Issuing writes the row
directly (the one direct write, race-safe by a constraint) and then says so on the session's
partition (``session_issued``), so the worker publishes the new session on ``chat.sessions`` at
once. A renewal's answers carry its expired predecessor (``processor.core.resumption``).
Every route needs a token with the ``sessions`` scope (``guard.protected``): the customer hash
says *whose* session, never who may read it. Issuing is rate-limited per customer hash and
overall (per API process).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from processor.api.context_store import IssueResult, PredecessorView, SessionView, resumable
from processor.api.deps import ApiState, api_state, state_of
from processor.api.direct_routes import DirectRoute, json_response, path_uuid
from processor.api.exceptions import NotFound, RateLimited
from processor.api.guard import protected
from processor.api.models import (
    CloseAccepted,
    ConversationOut,
    ErrorBody,
    IssuedSession,
    IssueSessionIn,
    PredecessorOut,
    SessionContext,
)
from processor.core.resumption import resume_notice
from processor.logs import get_logger
from schemas.commands import CloseSession, SessionCommand, SessionIssued
from schemas.session import SessionStatus
from schemas.snapshot import SHA256_HEX

__all__ = ["build_context", "predecessor_out", "router"]

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=protected("sessions"))
log = get_logger("chatstate.api")

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown session, or not this customer's."}
}
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "A parameter is not valid."}
}
_NO_STORE = {"Cache-Control": "no-store"}

PsidPath = Annotated[uuid.UUID, Path(alias="persistentSessionId")]
CustomerHeader = Annotated[
    str | None,
    Header(alias="X-Customer-Id-Hashed", description="The customerIdHashed it was issued to."),
]
CustomerQuery = Annotated[
    str | None, Query(alias="customerIdHashed", description="Alternative to the header.")
]


def predecessor_out(p: PredecessorView | None) -> PredecessorOut | None:
    if p is None:
        return None
    return PredecessorOut(
        persistent_session_id=p.persistent_session_id,
        resume_from_conversation_id=p.last_conversation_id,
        notice=resume_notice(p.last_conversation_id) if p.last_conversation_id else None,
        latest_snapshot=p.latest_snapshot,
        latest_snapshot_at=p.latest_snapshot_at,
    )


def build_context(view: SessionView, now: datetime) -> SessionContext:
    """The seed's getChatContext. A session past its expiry is treated as expired even if the
    expiry timer has not run yet: its conversation may no longer be routable. A renewal without
    a snapshot of its own answers with its predecessor's: snapshot, conversation to tag, notice."""
    live = resumable(view.status, view.expires_at, now)
    lapsed = not live and view.status is not SessionStatus.CLOSED
    old_conversation = view.current_conversation_id or (
        view.conversations[-1].conversation_id if view.conversations else None
    )
    carried = predecessor_out(view.predecessor)
    resume_from = old_conversation if lapsed else None
    if resume_from is None and carried is not None and not view.conversations:
        resume_from = carried.resume_from_conversation_id  # the renewal's first conversation
    return SessionContext(
        persistent_session_id=view.persistent_session_id,
        status=view.status,
        resumable=live,
        conversation_id=view.current_conversation_id if live else None,
        resume_from_conversation_id=resume_from,
        notice=resume_notice(old_conversation) if lapsed and old_conversation
        else carried.notice if carried is not None else None,
        previous_session_id=view.previous_session_id,
        latest_snapshot=view.latest_snapshot
        if view.latest_snapshot is not None or carried is None else carried.latest_snapshot,
        latest_snapshot_at=view.latest_snapshot_at
        if view.latest_snapshot is not None or carried is None else carried.latest_snapshot_at,
        last_interaction_at=view.last_interaction_at,
        expires_at=view.expires_at,
        conversations=[
            ConversationOut(
                conversation_id=c.conversation_id, state=c.state, media_type=c.media_type,
                started_at=c.started_at, ended_at=c.ended_at, disconnect_type=c.disconnect_type,
                resumed_from_conversation_id=c.resumed_from_conversation_id,
            )
            for c in view.conversations
        ],
        conversation_count=view.conversation_count,
        live_conversation_ids=view.live_conversation_ids if live else [],
        predecessor=carried,
    )


async def _owned(state: ApiState, psid: uuid.UUID, header: str | None, query: str | None
                 ) -> SessionView:
    customer = header or query
    if not customer or not SHA256_HEX.match(customer):
        raise NotFound("no such session")  # the same answer as a wrong customer: no oracle
    view = await state.require_store().session_for(psid, customer)
    if view is None:
        raise NotFound("no such session")
    return view


@router.post(
    "",
    response_model=IssuedSession,
    status_code=201,
    summary="Issue a persistent session (or return the customer's live one)",
    responses={200: {"model": IssuedSession, "description": "The customer's live session."},
               503: {"model": ErrorBody, "description": "Kafka unavailable (retry: the same "
                     "session is returned)."},
               429: {"model": ErrorBody, "description": "Too many sessions issued for this "
                     "customer, or overall (Retry-After)."}},
)
async def issue_session(
    body: IssueSessionIn, response: Response, state: Annotated[ApiState, Depends(api_state)]
) -> IssuedSession:
    tick = time.monotonic()
    wait = state.issues_per_customer.take(body.customer_id_hashed, tick)
    if wait:
        raise RateLimited("for this customer", wait)
    wait = state.issues_total.take("", tick)
    if wait:
        raise RateLimited("issuing sessions", wait)
    now = datetime.now(UTC)
    result = await state.require_store().issue(body.customer_id_hashed, now,
                                               state.settings.session_ttl)
    outcome = "existing" if not result.created else (
        "renewed" if result.previous_session_id else "created")
    if result.version == 0:
        # Not on chat.sessions yet (issued now, or an earlier answer's command was lost).
        await _announce(state, body.customer_id_hashed, result)
    state.metrics.sessions_issued.labels(outcome).inc()
    response.status_code = 201 if result.created else 200
    response.headers["Cache-Control"] = "no-store"
    carried = predecessor_out(result.predecessor)
    return IssuedSession(
        persistent_session_id=result.persistent_session_id, status=result.status,
        created=result.created, previous_session_id=result.previous_session_id,
        issued_at=result.issued_at, expires_at=result.expires_at,
        resume_from_conversation_id=carried.resume_from_conversation_id if carried else None,
        notice=carried.notice if carried else None, predecessor=carried,
    )


async def _announce(state: ApiState, customer: str, result: IssueResult) -> None:
    """``session_issued`` on the session's partition: the worker publishes the session on
    chat.sessions at once. A failure answers 503 (the row stays: a retry returns it, 200, and
    announces it again; the worker applies a repeat as a no-op)."""
    command = SessionCommand(
        persistent_session_id=result.persistent_session_id, issued_at=result.issued_at,
        command=SessionIssued(customer_id_hashed=customer,
                              previous_session_id=result.previous_session_id,
                              issued_at=result.issued_at, expires_at=result.expires_at),
    )
    await state.require_producer().send(
        state.commands_topic, str(result.persistent_session_id).encode(), command.to_json_bytes()
    )


_CONTEXT_PARAMETERS = [
    {"in": "path", "name": "persistentSessionId", "required": True,
     "schema": {"type": "string", "format": "uuid", "title": "Persistentsessionid"}},
    {"in": "query", "name": "customerIdHashed", "required": False,
     "description": "Alternative to the header.",
     "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Customeridhashed",
                "description": "Alternative to the header."}},
    {"in": "header", "name": "X-Customer-Id-Hashed", "required": False,
     "description": "The customerIdHashed it was issued to.",
     "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "X-Customer-Id-Hashed",
                "description": "The customerIdHashed it was issued to."}},
]


# A DirectRoute (see direct_routes.py): the parameters of close_session, read without FastAPI's
# per-request machinery. (No docstring: FastAPI would publish it as the operation's description.)
async def session_context(request: Request) -> Response:
    state = state_of(request)
    psid = path_uuid(request, "persistentSessionId")
    view = await _owned(state, psid, request.headers.get("x-customer-id-hashed"),
                        request.query_params.get("customerIdHashed"))
    return json_response(build_context(view, datetime.now(UTC)), headers=_NO_STORE)


router.add_api_route(
    "/{persistentSessionId}/context",
    session_context,
    methods=["GET"],
    route_class_override=protected("sessions", DirectRoute),
    response_model=SessionContext,
    summary="Where were we? The session's resumption context",
    responses={**_NOT_FOUND, **_INVALID},
    openapi_extra={"parameters": _CONTEXT_PARAMETERS},
)


@router.post(
    "/{persistentSessionId}/close",
    response_model=CloseAccepted,
    status_code=202,
    summary="Close the session (a command on its partition; 202 once Kafka has it)",
    responses={**_NOT_FOUND, 503: {"model": ErrorBody, "description": "Kafka unavailable."}},
)
async def close_session(
    psid: PsidPath, state: Annotated[ApiState, Depends(api_state)],
    x_customer: CustomerHeader = None, customer: CustomerQuery = None,
) -> CloseAccepted:
    await _owned(state, psid, x_customer, customer)
    command = SessionCommand(
        persistent_session_id=psid, issued_at=datetime.now(UTC),
        command=CloseSession(reason="requested", requested_by="api"),
    )
    await state.require_producer().send(
        state.commands_topic, str(psid).encode(), command.to_json_bytes()
    )
    log.info("session_close_requested", persistent_session_id=str(psid),
             command_id=str(command.id))
    return CloseAccepted(command_id=command.id)
