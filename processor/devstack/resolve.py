"""Which Kafka and PostgreSQL to use, in the one order everything (tests included) follows:

1. servers named by ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL``;
2. a Docker engine, if one answers, through testcontainers;
3. the local stack (``chatstate dev up``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from processor.devstack.stack import LocalStack
from processor.errors import ConfigError
from processor.kafka_security import KafkaSecurity
from processor.servers import Endpoints, from_settings
from processor.settings import Settings

__all__ = ["Endpoints", "docker_available", "endpoints", "provision"]


def endpoints(settings: Settings) -> Endpoints:
    """Where the servers are now, without starting anything: the settings' servers, else the
    local dev stack's. For tooling only (the admin CLI, ``run``, ``bench``, ``simulate``, the
    tests); the API, the worker and the bridge use ``processor.servers.from_settings``.

    Raises ``ConfigError`` naming the variable when the Kafka security settings cannot work."""
    security = KafkaSecurity.from_settings(settings)
    kafka = settings.kafka_bootstrap_servers
    db = settings.database_url.get_secret_value() if settings.database_url else None
    if kafka and db:
        return from_settings(settings)
    status = LocalStack(settings).status()
    kafka = kafka or status.kafka_bootstrap
    db = db or status.database_url
    if not (kafka and db):
        raise ConfigError(
            "no Kafka/PostgreSQL: set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, "
            "or run `chatstate dev up` for the local stack"
        )
    return Endpoints(kafka, db, "local", security)


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def provision(
    settings: Settings, *, kafka_image: str = "apache/kafka:4.0.1"
) -> Iterator[Endpoints]:
    """Endpoints for a test session, starting servers when none are named (see module doc)."""
    security = KafkaSecurity.from_settings(settings)
    kafka = settings.kafka_bootstrap_servers
    db = settings.database_url.get_secret_value() if settings.database_url else None
    if kafka and db:
        yield Endpoints(kafka, db, "env", security)
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        with contextlib.ExitStack() as stack:
            if not kafka:
                kc = stack.enter_context(KafkaContainer(kafka_image).with_kraft())
                kafka = kc.get_bootstrap_server()
            if not db:
                pc = stack.enter_context(PostgresContainer("postgres:15", driver=None))
                db = pc.get_connection_url()
            yield Endpoints(kafka, db, "docker", security)
        return
    status, _ = LocalStack(settings).up()
    yield Endpoints(
        kafka or status.kafka_bootstrap or "", db or status.database_url or "", "local", security
    )
