"""Where the servers are, for the processes chatstate runs in production: from settings only.

The API, the worker and the bridge take Kafka and PostgreSQL from the environment
(``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL`` and the Kafka security settings) and refuse to
start without them. Only tooling (``dev``, ``run``, ``bench``, ``simulate``, the admin commands
and the tests) may fall back to the local dev stack: ``processor.devstack.resolve.endpoints``
wraps this with that fallback. A production process that quietly found a dev stack on its host
would be talking to the wrong servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from processor.errors import ConfigError
from processor.kafka_security import KafkaSecurity
from processor.settings import Settings

__all__ = ["Endpoints", "Source", "from_settings"]

Source = Literal["env", "docker", "local"]


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    database_url: str = field(repr=False)  # carries the password: never in a repr or test output
    source: Source
    # TLS/SASL for every Kafka client (processor.kafka_security); always from the settings.
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)


def from_settings(settings: Settings) -> Endpoints:
    """The servers the settings name; ``ConfigError`` naming what is missing otherwise."""
    security = KafkaSecurity.from_settings(settings)
    kafka = settings.kafka_bootstrap_servers
    db = settings.database_url.get_secret_value() if settings.database_url else None
    if not kafka or not db:
        named = (("KAFKA_BOOTSTRAP_SERVERS", kafka), ("DATABASE_URL", db))
        missing = [n for n, v in named if not v]
        raise ConfigError(
            f"{' and '.join(missing)} must be set (for the local dev stack: "
            'eval "$(chatstate dev env)")'
        )
    return Endpoints(kafka, db, "env", security)
