"""Reachability probes for readiness: can this process reach Kafka and PostgreSQL right now?

Each probe opens its own short-lived connection instead of borrowing the process's clients:
a worker opens its pool and producer lazily (at its first batch), and a probe that started them
would blame Kafka for a database that is down. A fresh connection every probe period (10 s in
the Helm chart) costs one handshake, which is nothing beside a batch. The same TLS/SASL
settings as every other client apply (``KafkaSecurity``, ``DATABASE_URL``'s ``sslmode``).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.client import AIOKafkaClient

from processor.db import connect
from processor.kafka_security import KafkaSecurity

__all__ = ["kafka_reachable", "postgres_reachable"]


async def kafka_reachable(bootstrap: str, security: KafkaSecurity, timeout_s: float = 4.0) -> bool:
    """A metadata round trip with one of the bootstrap brokers (TLS and SASL included)."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000),
        **security.client_options(),
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
    except Exception:  # unreachable, refused credentials, TLS: all mean "not ready"
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    return True


async def postgres_reachable(url: str, timeout_s: float = 4.0) -> bool:
    """``SELECT 1`` on a new connection (a pool's may predate a restart and still look fine)."""
    try:
        conn = await asyncio.wait_for(connect(url, timeout=timeout_s), timeout_s)
    except Exception:
        return False
    try:
        return bool(await conn.fetchval("SELECT 1", timeout=timeout_s) == 1)
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout_s)
