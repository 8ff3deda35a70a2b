"""``GET /v1/customers/context``: the seed's ``getChatContext(userId)`` as one call.

The web back end knows its customer, not necessarily the customer's ``persistentSessionId``
(the cookie may be gone, or the session may have expired): this answers from the customer hash
alone what the page should do — resume the live session, resume a renewal that still carries
its expired predecessor, or issue a session (and, after an expiry, what it resumes from). It
never writes: issuing stays ``POST /v1/sessions``, whose answer carries the same predecessor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from processor.api.context_store import PredecessorView, SessionView, resumable
from processor.api.deps import state_of
from processor.api.direct_routes import DirectRoute, json_response
from processor.api.guard import protected
from processor.api.models import CUSTOMER_HASH_MESSAGE, CustomerContext, ErrorBody, PredecessorOut
from processor.api.sessions import build_context, predecessor_out
from processor.core.resumption import CustomerState, carries_predecessor, customer_state
from schemas.session import SessionStatus
from schemas.snapshot import SHA256_HEX

__all__ = ["customer_context", "router"]

router = APIRouter(prefix="/v1/customers", tags=["sessions"], route_class=protected("sessions"))

_HEADER = "X-Customer-Id-Hashed"


def customer_context(view: SessionView | None, now: datetime) -> CustomerContext:
    """What the page should do for the customer whose latest session is ``view``."""
    live = view is not None and resumable(view.status, view.expires_at, now)
    carrying = view is not None and carries_predecessor(
        view.previous_session_id, view.latest_snapshot_at
    ) and view.predecessor is not None
    state = customer_state(view is not None, live, carrying)
    if view is None:
        return CustomerContext(state=state.value)
    if state is CustomerState.NONE:
        return CustomerContext(state=state.value, predecessor=_lapsed(view))
    context = build_context(view, now)
    return CustomerContext(
        state=state.value, persistent_session_id=view.persistent_session_id, session=context,
        predecessor=context.predecessor,
    )


def _lapsed(view: SessionView) -> PredecessorOut | None:
    """An expired or archived session is what the next one resumes from (a closed one was
    ended on purpose: nothing to resume). Without a snapshot of its own, it passes on the one
    it carried."""
    if view.status is SessionStatus.CLOSED:
        return None
    last = view.current_conversation_id or (
        view.conversations[-1].conversation_id if view.conversations else None
    )
    own = PredecessorView(view.persistent_session_id, last, view.latest_snapshot,
                          view.latest_snapshot_at)
    if view.latest_snapshot is None and view.predecessor is not None:
        own = PredecessorView(
            view.persistent_session_id, last or view.predecessor.last_conversation_id,
            view.predecessor.latest_snapshot, view.predecessor.latest_snapshot_at,
        )
    return predecessor_out(own)


# A DirectRoute, like the session context (the page's hot path). No docstring: FastAPI would
# publish it as the operation's description.
async def get_customer_context(request: Request) -> Response:
    customer = request.headers.get(_HEADER.lower(), "")
    if not SHA256_HEX.fullmatch(customer):
        raise RequestValidationError(
            [{"loc": ("header", _HEADER), "msg": CUSTOMER_HASH_MESSAGE, "type": "value_error"}]
        )
    view = await state_of(request).require_store().latest_for(customer)
    return json_response(customer_context(view, datetime.now(UTC)),
                         headers={"Cache-Control": "no-store"})


_PARAMETERS: list[dict[str, Any]] = [
    {"in": "header", "name": _HEADER, "required": True,
     "description": "SHA-256 hex of the customer id (never the raw id).",
     "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$", "title": _HEADER}},
]

router.add_api_route(
    "/context",
    get_customer_context,
    methods=["GET"],
    route_class_override=protected("sessions", DirectRoute),
    response_model=CustomerContext,
    summary="Where were we? From the customer alone: live, renewed, or none (issue one)",
    responses={422: {"model": ErrorBody, "description": "The header is missing or not a hash."}},
    openapi_extra={"parameters": _PARAMETERS},
)
