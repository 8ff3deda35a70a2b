"""The emulator's HTTP and websocket surface: what the bridge calls on Genesys, with the same
paths, bodies and status codes, plus ``/emulator/*`` to drive it (feed traffic, misbehave,
read what was written back)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from processor.emulator.feed import Feed
from processor.emulator.org import Org

__all__ = ["create_app"]


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"status": status, "message": message}, status, headers=headers)


def create_app(org: Org, ws_base: str) -> Starlette:
    """``ws_base``: ``ws://host:port`` as clients reach this server (the channels' connectUri)."""
    feed = Feed(org)

    async def token(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        try:
            cid, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            cid, secret = "", ""
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported grant type")
        if (cid, secret) != (org.client_id, org.client_secret):
            return _error(401, "invalid client")
        value, ttl = org.issue_token()
        return JSONResponse({"access_token": value, "token_type": "bearer", "expires_in": int(ttl)})

    async def guarded(request: Request) -> Response:
        """Every /api/v2 call: stall, rate limit, token check, then the route."""
        now = time.monotonic()
        f = org.faults
        if f.stall_requests > 0:
            f.stall_requests -= 1
            await asyncio.sleep(f.stall_s)
        status, resp = await _answer(request, now)
        org.requests.append((now, request.method, request.url.path, status))
        return resp

    async def _answer(request: Request, now: float) -> tuple[int, Response]:
        f = org.faults
        if f.rate_limited > 0 or org.over_rate(now):
            f.rate_limited = max(0, f.rate_limited - 1)
            return 429, _error(
                429, "rate limit exceeded", **{"Retry-After": f"{f.retry_after_s:g}"}
            )
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not org.token_ok(bearer):
            return 401, _error(401, "authentication required")
        resp = await _route(request)
        return resp.status_code, resp

    async def _route(request: Request) -> Response:
        path, method = request.url.path, request.method
        parts = path.strip("/").split("/")
        if path == "/api/v2/notifications/channels" and method == "POST":
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            ch = org.new_channel(bearer)
            expires = datetime.fromtimestamp(time.time() + org.channel_ttl_s).astimezone()
            return JSONResponse(
                {
                    "id": ch.id,
                    "connectUri": f"{ws_base}/channels/{ch.id}",
                    "expires": expires.isoformat(),
                }
            )
        if (
            parts[:4] == ["api", "v2", "notifications", "channels"]
            and parts[-1:] == ["subscriptions"]
            and method == "PUT"
        ):
            target = org.channels.get(parts[4])
            if target is None:
                return _error(404, "channel not found")
            body = await request.json()
            if len(body) > 1000:
                return _error(400, "a channel takes at most 1000 topics")
            target.topics = {t["id"] for t in body}
            entities = [{"id": t, "state": "Permitted"} for t in sorted(target.topics)]
            return JSONResponse({"entities": entities})
        if path == "/api/v2/routing/queues" and method == "GET":
            size = int(request.query_params.get("pageSize", 25))
            page = int(request.query_params.get("pageNumber", 1))
            queues = sorted(org.queues.values(), key=lambda q: q["id"])
            count = max(1, -(-len(queues) // size))
            return JSONResponse(
                {
                    "entities": queues[(page - 1) * size : page * size],
                    "pageSize": size,
                    "pageNumber": page,
                    "total": len(queues),
                    "pageCount": count,
                }
            )
        if path == "/api/v2/analytics/conversations/details/query" and method == "POST":
            body = await request.json()
            start_s, _, end_s = body["interval"].partition("/")
            watched = {
                p["value"]
                for f in body.get("segmentFilters") or []
                for p in f.get("predicates") or []
                if p.get("dimension") == "queueId"
            }
            rows = org.analytics(_parse(start_s), _parse(end_s), watched)
            paging = body.get("paging") or {}
            size, page = int(paging.get("pageSize", 25)), int(paging.get("pageNumber", 1))
            return JSONResponse(
                {"conversations": rows[(page - 1) * size : page * size], "totalHits": len(rows)}
            )
        if (
            parts[:3] == ["api", "v2", "conversations"]
            and method == "PATCH"
            and parts[-1] == ("attributes")
        ):
            media = "message" if parts[3] == "messages" else "chat"
            cid, pid = (parts[4], parts[6]) if parts[3] == "messages" else (parts[3], parts[5])
            body = await request.json()
            if not org.patch(media, cid, pid, dict(body.get("attributes") or {})):
                return _error(404, "participant not found")
            return JSONResponse({"attributes": body.get("attributes")}, 202)
        if parts[:3] == ["api", "v2", "conversations"] and len(parts) == 4 and method == "GET":
            conv = org.conversation(parts[3])
            return JSONResponse(conv) if conv else _error(404, "conversation not found")
        return _error(404, f"not emulated: {method} {path}")

    async def socket(ws: WebSocket) -> None:
        ch = org.channels.get(ws.path_params["channel_id"])
        if ch is None or time.monotonic() >= ch.expires_at:
            await ws.close(code=4004)
            return
        if time.monotonic() < org.faults.sockets_down_until:
            await ws.close(code=1013)  # "try again later": the notification service is down
            return
        await ws.accept()
        key = id(ws)
        done = asyncio.Event()

        async def close() -> None:
            done.set()
            with contextlib.suppress(Exception):
                await ws.close(code=1001)

        ch.sockets[key], ch.closers[key] = ws.send_text, close

        async def beat() -> None:
            while not done.is_set():
                await asyncio.sleep(org.heartbeat_s)
                if time.monotonic() >= min(ch.expires_at, ch.token_expires_at):
                    await close()  # Genesys ends a channel at its 24 h life or its token's end
                    return
                with contextlib.suppress(Exception):
                    await ws.send_json(
                        {
                            "topicName": "channel.metadata",
                            "eventBody": {"message": "WebSocket Heartbeat"},
                        }
                    )

        beater = asyncio.create_task(beat())
        try:
            while not done.is_set():
                msg = await ws.receive_text()
                if '"ping"' in msg:
                    await ws.send_json(
                        {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}
                    )
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            beater.cancel()
            ch.sockets.pop(key, None)
            ch.closers.pop(key, None)

    async def control_faults(request: Request) -> Response:
        body = await request.json()
        out: dict[str, Any] = {}
        if body.get("expire_tokens"):
            out["expired"] = org.expire_tokens()
        if "rate_limited" in body:
            org.faults.rate_limited = int(body["rate_limited"])
            org.faults.retry_after_s = float(body.get("retry_after_s", 1.0))
        if "stall_s" in body:
            org.faults.stall_s = float(body["stall_s"])
            org.faults.stall_requests = int(body.get("stall_requests", 1))
        if body.get("socket_closing"):
            await org.broadcast(
                {
                    "topicName": "v2.system.socket_closing",
                    "eventBody": {"message": "socket closing for maintenance"},
                }
            )
        if "sockets_down_s" in body:  # with drop_sockets: an outage, not just a blip
            org.faults.sockets_down_until = time.monotonic() + float(body["sockets_down_s"])
        if body.get("drop_sockets"):
            out["dropped"] = await org.drop_sockets()
        return JSONResponse(out)

    async def control_feed(request: Request) -> Response:
        body = await request.json()
        return JSONResponse(feed.start(**body))

    async def status(request: Request) -> Response:
        return JSONResponse(
            {
                "emitted": org.emitted,
                "lost": org.lost,
                "fed": feed.fed,
                "feeding": feed.running,
                "conversations": len(org.conversations),
                "queues": len(org.queues),
                "channels": {
                    c.id: {"topics": len(c.topics), "sockets": len(c.sockets)}
                    for c in org.channels.values()
                },
                "requests": len(org.requests),
                "patches": len(org.patches),
            }
        )

    async def patches(request: Request) -> Response:
        return JSONResponse([p.__dict__ for p in org.patches])

    async def requests(request: Request) -> Response:
        return JSONResponse([list(r) for r in org.requests])

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/emulator/faults", control_faults, methods=["POST"]),
            Route("/emulator/feed", control_feed, methods=["POST"]),
            Route("/emulator/status", status),
            Route("/emulator/patches", patches),
            Route("/emulator/requests", requests),
            Route("/api/v2/{rest:path}", guarded, methods=methods),
            WebSocketRoute("/channels/{channel_id}", socket),
        ]
    )
    app.state.org, app.state.feed = org, feed
    return app


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
