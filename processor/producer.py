"""The one Kafka producer factory: every record chatstate writes goes through a producer made
here, so durability and security settings cannot drift between the API, the worker and the
tools."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

from processor.kafka_security import KafkaSecurity

__all__ = ["make_producer"]


def make_producer(bootstrap: str, security: KafkaSecurity, **overrides: Any) -> AIOKafkaProducer:
    """acks=all + idempotence: a write the caller sees acknowledged survives a broker failover
    and a retried send is not duplicated in the log. ``security`` (TLS, SASL) is required, so no
    caller can forget it: a PLAINTEXT client fails against a secured listener."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "request_timeout_ms": 10000,
        "client_id": "chatstate",
        **security.client_options(),
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)
