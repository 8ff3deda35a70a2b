"""The app factory: the one place the API is wired.

``create_app`` takes its dependencies as arguments and does no I/O; the PostgreSQL pool and the
Kafka producer open in the ASGI lifespan and close with it. Tests and benchmarks pass their own
settings (their own database, topic prefix, or an unreachable Kafka) and get an isolated app.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from pydantic import BaseModel, SecretStr
from pydantic.json_schema import models_json_schema

from processor import __version__
from processor.api import auth, customers, erasures, error_handlers, ingest, ops, sessions
from processor.api.api_metrics import ApiMetrics
from processor.api.api_producer import ApiProducer
from processor.api.clients import ClientRegistry, parse_clients
from processor.api.context_store import PgContextStore
from processor.api.deps import ApiState
from processor.api.guard import BEARER_SCHEME, BEARER_SCHEME_OPENAPI
from processor.api.middleware import AccessLog, BodyLimit
from processor.api.ratelimit import TokenBuckets
from processor.api.tokens import MIN_KEY_BYTES, TokenSigner
from processor.db import create_pool, keep_session_state
from processor.errors import ConfigError
from processor.kafka_security import KafkaSecurity
from processor.logs import get_logger
from processor.settings import Settings
from processor.topics import Catalog
from schemas.snapshot import SnapshotIn

__all__ = ["create_app", "openapi_document", "served_app", "signing_keys"]

log = get_logger("chatstate.api")

PoolFactory = Callable[[str], Awaitable[asyncpg.Pool]]

DESCRIPTION = """chatstate's HTTP API for the web back end and Genesys Architect data actions.

Every `/v1` route needs a bearer token from `POST /oauth/token` (OAuth 2 client credentials)
whose client has the route's scope:

* `sessions` (the web back end): issue a persistent session, read its resumption context,
  close it.
* `snapshots` (data actions): post state snapshots. A 202 is only given once Kafka acknowledged
  the write; 503 + `Retry-After` otherwise.

No or a bad token: 401 (`WWW-Authenticate: Bearer`); the wrong scope: 403; too many requests:
429 + `Retry-After`.

Errors share one shape: `{"error": code, "message": text, "detail": [{"loc", "msg", "type"}]}`;
they never repeat the offending value.
"""


def create_app(
    settings: Settings,
    *,
    kafka_bootstrap: str,
    database_url: str,
    pool_factory: PoolFactory | None = None,
    freeze_startup_objects: bool = False,
) -> FastAPI:
    """Build the API. No I/O here: connections open when the ASGI lifespan starts.

    ``freeze_startup_objects`` (the served app): once started, move everything alive into the
    garbage collector's permanent generation. Full collections then scan only what requests
    allocate, instead of the ~80,000 objects of FastAPI, pydantic and the app; those pauses were
    most of the API's p99 (context p99 66 ms -> 30 ms at 50 clients, benchmarks/api_bench.py).
    """
    catalog = Catalog.load(settings.topics_file, settings.topic_prefix)
    kafka_security = KafkaSecurity.from_settings(settings)  # a bad combination refuses to start
    clients = parse_clients(settings.oauth_clients)
    state = ApiState(
        settings=settings,
        signer=TokenSigner(signing_keys(settings), settings.token_ttl_s,
                           issuer=settings.token_issuer, audience=settings.token_audience),
        metrics=ApiMetrics(),
        snapshots_topic=catalog.name("chat.snapshots"),
        commands_topic=catalog.name("chat.session-commands"),
        clients=ClientRegistry(clients),
        token_requests=TokenBuckets(settings.api_token_rate_per_min / 60, settings.api_token_burst),
        issues_per_customer=TokenBuckets(settings.api_issue_rate_per_customer_per_min / 60,
                                         settings.api_issue_burst_per_customer),
        issues_total=TokenBuckets(settings.api_issue_rate_total_per_s,
                                  settings.api_issue_burst_total),
    )

    async def open_pool(url: str) -> asyncpg.Pool:
        # max_inactive_connection_lifetime=0: asyncpg otherwise arms a timer on every release
        # and cancels it on every acquire, per request; the API's few connections stay open.
        return await create_pool(url, min_size=1, max_size=settings.api_db_pool_max,
                                 reset=keep_session_state, max_inactive_connection_lifetime=0)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = await (pool_factory or open_pool)(database_url)
        producer = ApiProducer(kafka_bootstrap, settings.api_produce_timeout_s, kafka_security)
        state.store = PgContextStore(pool)
        state.producer = producer
        if not state.clients:
            log.warning("api_no_clients_configured", consequence="every /v1 request is "
                        "answered 401; set CHATSTATE_OAUTH_CLIENTS")
        if not await producer.start():
            # Serve anyway: /healthz answers, /readyz says why not, writes answer 503 and the
            # producer is re-created on a later request once Kafka is back.
            log.warning("api_kafka_unreachable_at_start")
        if freeze_startup_objects:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await producer.close()
            await pool.close()

    app = FastAPI(
        title="chatstate API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # The document and its UI are served on the ops port (ops.create_ops_app), not here.
        openapi_url=None, docs_url=None, redoc_url=None,
        # Metrics are Prometheus (/metrics). FastAPI's native OpenTelemetry asks the tracer and
        # meter providers on every request whether anyone listens; nobody does here.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.chatstate = state
    app.openapi = functools.partial(_document, app)  # type: ignore[method-assign]
    error_handlers.install(app)
    for module in (auth, sessions, customers, erasures, ingest, ops):
        # Routes join the app's router directly rather than through include_router: FastAPI
        # 0.16x keeps included routers nested and matches every request through each of them,
        # twice, which was a fifth of the CPU of a /healthz request (py-spy under wrk). Our
        # routers carry nothing include_router would add (prefixes and tags are already in
        # each route; no router dependencies), so the routes and the document are the same.
        app.router.routes.extend(module.router.routes)
    # Outermost first: the access log sees the 413s the body limit answers.
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    app.add_middleware(AccessLog, metrics=state.metrics)
    return app


def signing_keys(settings: Settings) -> list[bytes]:
    """The token keys, current first: ``ConfigError`` naming the variable when the current one
    is missing or short (there is no built-in default: a default key is a forgeable one)."""
    current = settings.token_signing_key
    if current is None or not current.get_secret_value():
        raise ConfigError("CHATSTATE_TOKEN_SIGNING_KEY is not set: the API signs its bearer "
                          f"tokens with it (at least {MIN_KEY_BYTES} bytes, e.g. "
                          "`openssl rand -hex 32`)")
    keys = [current.get_secret_value().encode()]
    if len(keys[0]) < MIN_KEY_BYTES:
        raise ConfigError(f"CHATSTATE_TOKEN_SIGNING_KEY must be at least {MIN_KEY_BYTES} bytes")
    for i, previous in enumerate(settings.token_previous_keys):
        keys.append(previous.get_secret_value().encode())
        if len(keys[-1]) < MIN_KEY_BYTES:
            raise ConfigError(f"CHATSTATE_TOKEN_PREVIOUS_KEYS: key {i} is shorter than "
                              f"{MIN_KEY_BYTES} bytes")
    return keys


# The request bodies of DirectRoutes (direct_routes.py): FastAPI cannot see them in the endpoints'
# signatures, so their schemas are added to the document's components here.
_DIRECT_BODIES: tuple[type[BaseModel], ...] = (SnapshotIn,)


def _document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus what the DirectRoutes declare by hand: body schemas, the bearer
    scheme. Built once, like FastAPI's own."""
    if app.openapi_schema is None:
        doc = FastAPI.openapi(app)
        _, defs = models_json_schema([(m, "validation") for m in _DIRECT_BODIES],
                                     ref_template="#/components/schemas/{model}")
        components = doc.setdefault("components", {})
        for name, schema in defs.get("$defs", {}).items():
            components.setdefault("schemas", {}).setdefault(name, schema)
        components.setdefault("securitySchemes", {})[BEARER_SCHEME] = BEARER_SCHEME_OPENAPI
        app.openapi_schema = doc
    return app.openapi_schema


def served_app() -> FastAPI:
    """The app ``chatstate api`` serves, built in each uvicorn worker process from the environment
    (the parent resolved the servers into ``KAFKA_BOOTSTRAP_SERVERS``/``DATABASE_URL``)."""
    from processor.logs import configure_logging
    from processor.servers import from_settings

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    ep = from_settings(settings)
    return create_app(settings, kafka_bootstrap=ep.kafka_bootstrap, database_url=ep.database_url,
                      freeze_startup_objects=True)


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The OpenAPI document as served (on the ops port), built without connecting to anything
    and without needing the deployment's secrets."""
    settings = (settings or Settings()).model_copy(update={
        "token_signing_key": SecretStr("document-only-" + "x" * MIN_KEY_BYTES),
        "token_previous_keys": [], "oauth_clients": {}})
    app = create_app(settings, kafka_bootstrap="unused:0", database_url="unused")
    return app.openapi()
