"""What the routes share, built once per app in the lifespan and handed to routes by ``Depends``.

Routes never reach for globals: a test builds an app with its own settings, store and publisher.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from processor.api.clients import ClientRegistry
from processor.api.metrics import Metrics
from processor.api.publish import Publisher
from processor.api.ratelimit import TokenBuckets
from processor.api.store import SessionStore
from processor.api.tokens import TokenSigner
from processor.settings import Settings

__all__ = ["ApiState", "api_state", "state_of"]


@dataclass
class ApiState:
    settings: Settings
    signer: TokenSigner
    metrics: Metrics
    snapshots_topic: str
    commands_topic: str
    clients: ClientRegistry
    token_requests: TokenBuckets  # per client id, POST /oauth/token
    issues_per_customer: TokenBuckets  # per customer hash, POST /v1/sessions
    issues_total: TokenBuckets  # one key: the ceiling of POST /v1/sessions
    store: SessionStore | None = None  # set by the lifespan
    publisher: Publisher | None = None  # set by the lifespan

    def require_store(self) -> SessionStore:
        if self.store is None:  # only before the lifespan ran: a wiring bug, not a client error
            raise RuntimeError("the API's lifespan has not opened the database")
        return self.store

    def require_publisher(self) -> Publisher:
        if self.publisher is None:
            raise RuntimeError("the API's lifespan has not opened the Kafka producer")
        return self.publisher


def state_of(request: Request) -> ApiState:
    """The state of the app serving ``request`` (routes that take the Request, handlers)."""
    state: ApiState = request.app.state.chatstate
    return state


async def api_state(request: Request) -> ApiState:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, a thread hop
    # on every request that cost ~8% of the API's CPU.
    return state_of(request)
