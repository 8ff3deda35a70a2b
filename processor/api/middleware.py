"""Pure ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware): a body size limit, and
one access log line + metrics per request.

The access log carries the method, the route *template*, status, duration and a request id;
never query strings, headers or bodies: those are where tokens and customer data travel.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from processor.api.api_metrics import ApiMetrics
from processor.logs import get_logger

__all__ = ["AccessLog", "BodyLimit"]

log = get_logger("chatstate.api.access")


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413 before any route parses them.

    The body is read up front (it is small by definition) so a chunked upload without
    Content-Length is bounded too, then replayed to the app.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        payload = json.dumps({
            "error": "payload_too_large",
            "message": f"request bodies are limited to {self.limit} bytes",
            "detail": [],
        }).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": payload})


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # prometheus_client's labels() validates, stringifies and locks on every call; the
        # children are few (route templates x methods x statuses), so they are kept here.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = (self.metrics.requests.labels(method, route, str(status)),
                      self.metrics.latency.labels(method, route))
            self._series[(method, route, status)] = series
        series[0].inc()
        series[1].observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app dies before answering, that is what the client sees

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self._observe(method, route, status, elapsed)
            log.info("http_request", method=method, route=route, status=status,
                     duration_ms=round(elapsed * 1000, 2), request_id=os.urandom(8).hex())
