"""The one Kafka producer factory: every record chatstate writes goes through a producer made
here, so durability settings cannot drift between the API, the worker and the tools."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

__all__ = ["make_producer"]


def make_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """acks=all + idempotence: a write the caller sees acknowledged survives a broker failover
    and a retried send is not duplicated in the log."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "request_timeout_ms": 10000,
        "client_id": "chatstate",
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)
