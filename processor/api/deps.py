"""What the routes share, built once per app in the lifespan and handed to routes by ``Depends``.

Routes never reach for globals: a test builds an app with its own settings, store and producer.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from processor.api.api_metrics import ApiMetrics
from processor.api.api_producer import ApiProducer
from processor.api.clients import ClientRegistry
from processor.api.context_store import ContextStore
from processor.api.ratelimit import TokenBuckets
from processor.api.tokens import TokenSigner
from processor.settings import Settings

__all__ = ["ApiState", "api_state", "state_of"]


@dataclass
class ApiState:
    settings: Settings
    signer: TokenSigner
    metrics: ApiMetrics
    snapshots_topic: str
    commands_topic: str
    clients: ClientRegistry
    token_requests: TokenBuckets  # per client id, POST /oauth/token
    issues_per_customer: TokenBuckets  # per customer hash, POST /v1/sessions
    issues_total: TokenBuckets  # one key: the ceiling of POST /v1/sessions
    store: ContextStore | None = None  # set by the lifespan
    producer: ApiProducer | None = None  # set by the lifespan

    def require_store(self) -> ContextStore:
        if self.store is None:  # only before the lifespan ran: a wiring bug, not a client error
            raise RuntimeError("the API's lifespan has not opened the database")
        return self.store

    def require_producer(self) -> ApiProducer:
        if self.producer is None:
            raise RuntimeError("the API's lifespan has not opened the Kafka producer")
        return self.producer


def state_of(request: Request) -> ApiState:
    """The state of the app serving ``request`` (routes that take the Request, handlers)."""
    state: ApiState = request.app.state.chatstate
    return state


async def api_state(request: Request) -> ApiState:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, a thread hop
    # on every request that cost ~8% of the API's CPU.
    return state_of(request)
