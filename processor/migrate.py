"""Versioned SQL migrations: ``processor/migrations/NNNN_name.sql``, applied in order.

Each file runs in its own transaction together with its row in ``schema_migrations``; an
advisory lock keeps two processes from migrating at once. A database that has migrations this
build does not know (a newer build migrated it) or whose applied files changed is refused:
running old code against a newer schema is how data gets corrupted quietly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from processor.db import connect
from processor.errors import ChatstateError

__all__ = ["Migration", "MigrationError", "available", "migrate", "status"]

_LOCK_ID = 0x63686174  # "chat"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(ChatstateError):
    """The database's schema history does not match this build."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    found = []
    for entry in resources.files("processor.migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    return found


_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


async def status(conn: asyncpg.Connection) -> dict[int, tuple[str, str]]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    return {r["version"]: (r["name"], r["checksum"]) for r in rows}


async def migrate(url: str) -> list[Migration]:
    """Apply pending migrations; return those applied (empty when up to date)."""
    conn = await connect(url)  # TLS/password failures explained (processor.db)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(_HISTORY)
            applied = await status(conn)
            known = {m.version: m for m in available()}
            unknown = sorted(set(applied) - set(known))
            if unknown:
                raise MigrationError(
                    f"the database has migrations this build does not know: {unknown}; "
                    "run a newer chatstate"
                )
            for version, (_, checksum) in applied.items():
                if known[version].checksum != checksum:
                    raise MigrationError(
                        f"migration {version:04d}_{known[version].name} changed after it was "
                        "applied; add a new migration instead of editing an applied one"
                    )
            done = []
            for m in known.values():
                if m.version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1,$2,$3)",
                        m.version,
                        m.name,
                        m.checksum,
                    )
                done.append(m)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    finally:
        await conn.close()
