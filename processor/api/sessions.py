"""Session routes for the web back end: issue a session, read its resumption context, close it.

Reads come from PostgreSQL; a close becomes a command on the session's partition, so it is
applied in order with everything else that happens to the session. Every route needs a token
with the ``sessions`` scope (``guard.protected``): the customer hash says *whose* session, never
who may read it. Issuing is rate-limited per customer hash and overall (per API process).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from processor.api.deps import ApiState, api_state, state_of
from processor.api.direct import DirectRoute, json_response, path_uuid
from processor.api.exceptions import NotFound, RateLimited
from processor.api.guard import protected
from processor.api.models import (
    CloseAccepted,
    ConversationOut,
    ErrorBody,
    IssuedSession,
    IssueSessionIn,
    SessionContext,
)
from processor.api.store import SessionView, resumable
from processor.logs import get_logger
from schemas.commands import CloseSession, SessionCommand
from schemas.session import SessionStatus
from schemas.snapshot import SHA256_HEX

__all__ = ["build_context", "router"]

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=protected("sessions"))
log = get_logger("chatstate.api")

NOTICE = "Resuming from archived session ID: {conversation_id}"
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


def build_context(view: SessionView, now: datetime) -> SessionContext:
    """The seed's getChatContext. A session past its expiry is treated as expired even if the
    expiry timer has not run yet: its conversation may no longer be routable."""
    live = resumable(view.status, view.expires_at, now)
    lapsed = not live and view.status is not SessionStatus.CLOSED
    old_conversation = view.current_conversation_id or (
        view.conversations[-1].conversation_id if view.conversations else None
    )
    return SessionContext(
        persistent_session_id=view.persistent_session_id,
        status=view.status,
        resumable=live,
        conversation_id=view.current_conversation_id if live else None,
        resume_from_conversation_id=old_conversation if lapsed else None,
        notice=NOTICE.format(conversation_id=old_conversation)
        if lapsed and old_conversation else None,
        previous_session_id=view.previous_session_id,
        latest_snapshot=view.latest_snapshot,
        latest_snapshot_at=view.latest_snapshot_at,
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
    state.metrics.sessions_issued.labels(outcome).inc()
    response.status_code = 201 if result.created else 200
    response.headers["Cache-Control"] = "no-store"
    return IssuedSession(
        persistent_session_id=result.persistent_session_id, status=result.status,
        created=result.created, previous_session_id=result.previous_session_id,
        issued_at=result.issued_at, expires_at=result.expires_at,
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


# A DirectRoute (see direct.py): the parameters of close_session, read without FastAPI's
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
    await state.require_publisher().send(
        state.commands_topic, str(psid).encode(), command.to_json_bytes()
    )
    log.info("session_close_requested", persistent_session_id=str(psid),
             command_id=str(command.id))
    return CloseAccepted(command_id=command.id)
