"""The one database pool factory, and the one way to open a single connection.

TLS comes from ``DATABASE_URL`` in libpq's own terms, which asyncpg reads from the DSN:
``?sslmode=verify-full&sslrootcert=/path/ca.pem`` verifies the server's certificate and host
name (``PGSSLMODE``/``PGSSLROOTCERT`` work too). A connection that fails on TLS or on the
password becomes a ``ConfigError`` that says which part of ``DATABASE_URL`` to fix; asyncpg's
own errors do not (an SSL traceback, or "no pg_hba.conf entry").
"""

from __future__ import annotations

import json
import ssl
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

import asyncpg

from processor.errors import ConfigError

__all__ = ["Conn", "connect", "create_pool", "explain_failure", "init_connection",
           "keep_session_state"]

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # A plain connection or one borrowed from the pool: the adapters accept either.
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Conn = asyncpg.Connection


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in and out as Python objects, everywhere."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def keep_session_state(conn: asyncpg.Connection) -> None:
    """A pool ``reset`` that skips asyncpg's default reset query on every release.

    The default (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``) is a round trip
    per request. Only for pools whose users never change session state: no SET, LISTEN, advisory
    locks or open cursors (the API's pool: reads and one transaction per request).
    """


async def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 10, **kw: Any
) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, init=init_connection, **kw
        )
    except (ssl.SSLError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise explain_failure(exc, url) from None
    assert pool is not None
    return pool


async def connect(url: str, **kw: Any) -> asyncpg.Connection:
    """One connection (migrations, tools); TLS and password failures explained."""
    try:
        return await asyncpg.connect(url, **kw)
    except (ssl.SSLError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise explain_failure(exc, url) from None


def explain_failure(exc: BaseException, url: str) -> ConfigError:
    """What the failure means for ``DATABASE_URL`` (never quoting its password)."""
    parts = urlsplit(url)
    where = f"PostgreSQL at {parts.hostname}:{parts.port or 5432} (DATABASE_URL)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConfigError(
            f"the TLS certificate of {where} could not be verified ({exc.verify_message}): "
            "set sslrootcert= in DATABASE_URL to the CA that signed it (with sslmode=verify-full)"
        )
    if isinstance(exc, ssl.SSLError):
        return ConfigError(f"TLS with {where} failed: {exc.reason}")
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return ConfigError(f"{where} refused the password of user {parts.username!r}")
    if "no encryption" in str(exc):
        return ConfigError(
            f"{where} accepts TLS connections only: add sslmode=verify-full&sslrootcert=<CA file> "
            "to DATABASE_URL"
        )
    return ConfigError(f"{where} refused the connection: {type(exc).__name__}")
