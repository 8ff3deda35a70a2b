"""chatstate over a secured Kafka (SASL_SSL, SCRAM-SHA-512) and a PostgreSQL that accepts TLS
only (verify-full): the CLI, the worker and the API all get through with the right settings, and
a wrong password or an unverifiable certificate fails with a message naming what to fix.

The servers are a private secure stack (own state directory and ports, throwaway CA made at
start): the session's shared stack is never touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from processor.devstack.stack import LocalStack, StackStatus
from processor.devstack.tls import ensure_pki
from processor.settings import Settings
from processor.topics import Catalog
from tests.conftest import StackSlice
from tests.integration.api.support import api_settings, customer_hash, running_api, snapshot_body
from tests.integration.worker.harness import Worker, eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).parents[3]
WRONG_PASSWORD = "not-the-password-" + "q" * 8  # must never be echoed


@dataclass(frozen=True)
class SecureStack:
    status: StackStatus
    other_ca: Path  # a CA that signed nothing these servers present

    @property
    def environment(self) -> dict[str, str]:
        """A clean environment pointing at the secure stack only (no inherited server vars)."""
        inherited = {
            k: v for k, v in os.environ.items()
            if not k.startswith(("KAFKA_", "CHATSTATE_", "PG")) and k != "DATABASE_URL"
        }
        return {**inherited, **self.status.client_environment()}


@pytest.fixture(scope="module")
def secure() -> Iterator[SecureStack]:
    state = Path(f"/tmp/chatstate-secure-{uuid.uuid4().hex[:8]}")  # noqa: S108 - see default_state_dir
    stack = LocalStack(Settings(state_dir=state, kafka_heap="384m"))
    try:
        status, _ = stack.up(secure=True)
        yield SecureStack(status, ensure_pki(state / "other-ca").ca)
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


async def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "processor.cli", *args], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_secure_stack_advertises_sasl_ssl_and_verify_full(secure: SecureStack) -> None:
    env = secure.status.client_environment()
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert Path(env["KAFKA_SSL_CAFILE"]).is_file()
    assert "sslmode=verify-full" in env["DATABASE_URL"]
    assert "sslrootcert=" in env["DATABASE_URL"]


async def test_cli_worker_and_api_work_over_sasl_ssl_and_tls_only_postgres(
    secure: SecureStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"s{uuid.uuid4().hex[:8]}."
    env = {**secure.environment, "CHATSTATE_TOPIC_PREFIX": prefix}
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the worker subprocess and the in-process API read them
    for name in [k for k in os.environ if k not in env]:
        monkeypatch.delenv(name)

    topics = await cli(env, "topics", "apply")
    assert topics.returncode == 0, topics.stderr[-2000:]
    assert f"created: {prefix}chat.snapshots" in topics.stdout
    migrated = await cli(env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-2000:]

    url = env["DATABASE_URL"]
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()

    settings = Settings()
    catalog = Catalog.load(settings.topics_file, prefix)
    slice_ = StackSlice(env["KAFKA_BOOTSTRAP_SERVERS"], url, prefix, catalog)
    worker = Worker(slice_, tmp_path / "worker.log", f"{prefix}worker").start()
    try:
        async with running_api(
            api_settings(settings), kafka_bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"],
            database_url=url,
        ) as api:
            psid = (await api.issue(customer_hash("customer-secure")))["persistentSessionId"]
            body = snapshot_body(psid, intent="secure-billing")
            accepted = await api.client.post("/v1/chat-state/persist", json=body)
            assert accepted.status_code == 202, accepted.text

        async def applied() -> object:
            conn = await asyncpg.connect(url)
            try:
                return await conn.fetchval(
                    "SELECT count(*) FROM snapshots WHERE persistent_session_id = $1",
                    uuid.UUID(psid),
                )
            finally:
                await conn.close()

        await eventually(applied, timeout=60, what="the snapshot applied by the worker",
                         worker=worker)
    finally:
        worker.stop()


async def test_a_wrong_kafka_password_fails_naming_the_setting(secure: SecureStack) -> None:
    env = {**secure.environment, "KAFKA_SASL_PASSWORD": WRONG_PASSWORD}
    result = await cli(env, "topics", "apply", "--dry-run")
    assert result.returncode == 1
    assert "refused the credentials of KAFKA_SASL_USERNAME='chatstate'" in result.stderr
    assert "KAFKA_SASL_PASSWORD" in result.stderr
    assert WRONG_PASSWORD not in result.stdout + result.stderr


async def test_an_unverifiable_kafka_certificate_fails_naming_the_setting(
    secure: SecureStack,
) -> None:
    env = {**secure.environment, "KAFKA_SSL_CAFILE": str(secure.other_ca)}
    result = await cli(env, "topics", "apply", "--dry-run")
    assert result.returncode == 1
    assert "could not be verified" in result.stderr
    assert "set KAFKA_SSL_CAFILE to the CA that signed it" in result.stderr


async def test_an_unverifiable_postgres_certificate_fails_naming_the_setting(
    secure: SecureStack,
) -> None:
    url = secure.status.database_url or ""
    wrong_ca = url.split("?")[0] + f"?sslmode=verify-full&sslrootcert={secure.other_ca}"
    result = await cli({**secure.environment, "DATABASE_URL": wrong_ca}, "db", "migrate")
    assert result.returncode == 1
    assert "TLS certificate of PostgreSQL" in result.stderr
    assert "set sslrootcert= in DATABASE_URL" in result.stderr


async def test_postgres_refuses_a_connection_without_tls(secure: SecureStack) -> None:
    url = (secure.status.database_url or "").split("?")[0] + "?sslmode=disable"
    result = await cli({**secure.environment, "DATABASE_URL": url}, "db", "migrate")
    assert result.returncode == 1
    assert "accepts TLS connections only" in result.stderr
