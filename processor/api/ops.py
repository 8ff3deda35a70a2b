"""Operations: liveness and readiness on the public port; metrics and docs on the ops port.

``/healthz`` says only that the process answers (restart me if not); ``/readyz`` says whether
requests can succeed now (send me traffic if so): Kafka metadata and ``SELECT 1`` both answer.
Probes need both on the port the traffic comes in on.

``/metrics``, ``/docs`` and ``/openapi.json`` are for the operators, not for callers: they say
what the API is made of and how busy it is. They are served by a separate app
(``create_ops_app``) on ``CHATSTATE_API_OPS_PORT``, which a deployment keeps off the public
network (loopback by default, ``CHATSTATE_API_OPS_HOST``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from processor.api.deps import ApiState, api_state

__all__ = ["create_ops_app", "router"]

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
        state.require_producer().ping(), state.require_store().ping()
    )
    checks = {"kafka": "ok" if kafka else "unreachable",
              "postgres": "ok" if postgres else "unreachable"}
    ready = kafka and postgres
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


def create_ops_app(render_metrics: Callable[[], bytes],
                   document: Callable[[], dict[str, Any]]) -> Starlette:
    """The ops port's app: Prometheus metrics, the OpenAPI document and Swagger UI. Plain
    Starlette: three GETs, no lifespan, nothing to validate."""

    async def metrics(_: Request) -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    async def openapi(_: Request) -> Response:
        return Response(json.dumps(document()), media_type="application/json")

    async def docs(_: Request) -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="chatstate API")

    return Starlette(routes=[Route("/metrics", metrics), Route("/openapi.json", openapi),
                             Route("/docs", docs)])
