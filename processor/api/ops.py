"""Operations: liveness, readiness, metrics.

``/healthz`` says only that the process answers (restart me if not); ``/readyz`` says whether
requests can succeed now (send me traffic if so): Kafka metadata and ``SELECT 1`` both answer.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from processor.api.deps import ApiState, api_state

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: Kafka and PostgreSQL answer",
    responses={503: {"description": "Kafka or PostgreSQL unreachable."}},
)
async def readyz(state: Annotated[ApiState, Depends(api_state)]) -> JSONResponse:
    kafka, postgres = await asyncio.gather(
        state.require_publisher().ping(), state.require_store().ping()
    )
    checks = {"kafka": "ok" if kafka else "unreachable",
              "postgres": "ok" if postgres else "unreachable"}
    ready = kafka and postgres
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
async def metrics(state: Annotated[ApiState, Depends(api_state)]) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
