"""``POST /v1/chat-state/persist``: the Architect data action's snapshot (seed section 2).

Validate, guard PII (the redacted snapshot is what travels on), produce to ``chat.snapshots``
keyed by persistentSessionId, and answer 202 only after Kafka acknowledged: a 2xx is a promise
that the snapshot will reach the database. PII findings ride along as record headers (paths and
kinds, never values) so the processor can alert on where PII came in.
"""

from __future__ import annotations

import json

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from processor.api.deps import state_of
from processor.api.direct_routes import DirectRoute, json_body, json_body_openapi, json_response
from processor.api.guard import CLIENT_KEY, protected
from processor.api.models import ErrorBody, ErrorDetail, SnapshotAccepted
from processor.core.snapshots import guard_snapshot
from processor.logs import get_logger
from schemas.snapshot import SnapshotIn

__all__ = ["HEADER_CONTENT_ID", "HEADER_PII", "persist", "router"]

router = APIRouter(tags=["snapshots"])
log = get_logger("chatstate.api")

HEADER_CONTENT_ID = "chatstate-content-id"
HEADER_PII = "chatstate-pii-findings"


# A DirectRoute (see direct_routes.py) needing the ``snapshots`` scope (checked before the body
# is read).
async def persist(request: Request) -> Response:
    state = state_of(request)
    client = request.scope[CLIENT_KEY]
    snapshot = await json_body(request, SnapshotIn)
    psid = str(snapshot.persistent_session_id)
    guarded = guard_snapshot(snapshot, region=state.settings.pii_default_region)
    for f in guarded.findings:
        outcome = "rejected" if f in guarded.rejected else "redacted"
        state.metrics.pii_findings.labels(f.kind, outcome).inc()
    if guarded.rejected:
        log.warning("snapshot_rejected_pii", client=client,
                    persistent_session_id=psid,
                    findings=[f.model_dump() for f in guarded.rejected])
        body = ErrorBody(
            error="pii_rejected",
            message="the snapshot carries PII where only tokens are allowed; nothing was stored",
            detail=[ErrorDetail(loc=f.path, msg=f"{f.kind} found; send a token instead",
                                type=f.kind) for f in guarded.rejected],
        )
        return json_response(body, 422)
    findings = [f.model_dump(by_alias=True) for f in guarded.findings]
    headers = [(HEADER_CONTENT_ID, guarded.content_id.encode())]
    if findings:
        headers.append((HEADER_PII, json.dumps(findings).encode()))
    await state.require_producer().send(
        state.snapshots_topic,
        psid.encode(),
        guarded.snapshot.to_json_bytes(),
        headers,
    )
    if findings:
        log.info("snapshot_pii_redacted", client=client,
                 persistent_session_id=psid, findings=findings)
    return json_response(SnapshotAccepted(content_id=guarded.content_id,
                                          pii_redacted=sorted({f.path for f in guarded.findings})),
                         202)


router.add_api_route(
    "/v1/chat-state/persist",
    persist,
    methods=["POST"],
    route_class_override=protected("snapshots", DirectRoute),
    response_model=SnapshotAccepted,
    status_code=202,
    summary="Accept a state snapshot from a Genesys data action",
    responses={
        413: {"model": ErrorBody, "description": "Body too large."},
        422: {"model": ErrorBody, "description": "Invalid body, or PII where none may be."},
        503: {"model": ErrorBody, "description": "Kafka did not acknowledge: retry later."},
    },
    openapi_extra={"requestBody": json_body_openapi(SnapshotIn)},
)
