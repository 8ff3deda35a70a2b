"""Erasure requests (scope ``erasure``): a customer's data, everywhere chatstate keeps it.

``POST /v1/erasures`` records the request (an audit row with no customer data), puts the
customer hash on the deny list, and sends one command per session to the session's partition;
it answers 202 once Kafka has them all. The worker erases each session in order with everything
else that happens to it; ``GET /v1/erasures/{id}`` says how far it got. A request whose
commands did not all reach Kafka answers 503: asking again completes the erasure.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from processor.api.deps import ApiState, api_state
from processor.api.exceptions import NotFound
from processor.api.guard import CLIENT_KEY, protected
from processor.api.models import ErasureAccepted, ErasureIn, ErasureOut, ErrorBody
from processor.erasure_requests import erase_commands
from processor.logs import get_logger

__all__ = ["router"]

router = APIRouter(prefix="/v1/erasures", tags=["erasure"], route_class=protected("erasure"))
log = get_logger("chatstate.api")


@router.post(
    "",
    response_model=ErasureAccepted,
    status_code=202,
    summary="Erase a customer: every session, conversation, snapshot and issued id",
    responses={503: {"model": ErrorBody, "description": "Kafka unavailable: ask again."}},
)
async def request_erasure(
    body: ErasureIn, request: Request, state: Annotated[ApiState, Depends(api_state)]
) -> ErasureAccepted:
    now = datetime.now(UTC)
    by = str(request.scope.get(CLIENT_KEY, "unknown"))
    started = await state.require_store().start_erasure(body.customer_id_hashed, by, now)
    producer = state.require_producer()
    for key, value in erase_commands(started, now):
        await producer.send(state.commands_topic, key, value)
    log.info("erasure_requested", erasure_id=str(started.erasure_id), requested_by=by,
             sessions=len(started.sessions))
    return ErasureAccepted(
        erasure_id=started.erasure_id,
        status="pending" if started.sessions else "completed",
        sessions=len(started.sessions),
    )


@router.get(
    "/{erasureId}",
    response_model=ErasureOut,
    summary="An erasure's state: pending or completed, and how many rows",
    responses={404: {"model": ErrorBody, "description": "No such erasure."}},
)
async def get_erasure(
    erasure_id: Annotated[uuid.UUID, Path(alias="erasureId")],
    state: Annotated[ApiState, Depends(api_state)],
) -> ErasureOut:
    found = await state.require_store().erasure(erasure_id)
    if found is None:
        raise NotFound("no such erasure")
    return ErasureOut(
        erasure_id=found.erasure_id, status="completed" if found.completed_at else "pending",
        requested_at=found.requested_at, requested_by=found.requested_by,
        completed_at=found.completed_at, sessions=found.sessions,
        sessions_erased=found.sessions_erased, rows_deleted=found.rows_deleted,
    )
