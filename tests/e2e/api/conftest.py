"""The API as users meet it: ``chatstate api`` in its own process, on a free port (and its ops
port on another), against this test's private database and topics on the real stack, with the
synthetic clients of ``tests/integration/api/support.py``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.api.support import (
    CLIENT_ID,
    SIGNING_KEY,
    StackSlice,
    bearer,
    clients_env,
    token_form,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ServedApi:
    base_url: str
    env: StackSlice
    ops_url: str

    def token(self, client_id: str = CLIENT_ID) -> str:
        r = httpx.post(f"{self.base_url}/oauth/token", data=token_form(client_id))
        r.raise_for_status()
        return str(r.json()["access_token"])

    def auth(self, client_id: str = CLIENT_ID) -> dict[str, str]:
        """The Authorization header of a fresh token of ``client_id`` (both scopes by default)."""
        return bearer(self.token(client_id))


def api_process_env(env: StackSlice, ops_port: int = 0) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": env.kafka_bootstrap,
        "DATABASE_URL": env.database_url,
        "CHATSTATE_TOPIC_PREFIX": env.topic_prefix,
        "CHATSTATE_OAUTH_CLIENTS": clients_env(),
        "CHATSTATE_TOKEN_SIGNING_KEY": SIGNING_KEY,
        "CHATSTATE_API_OPS_PORT": str(ops_port),
        "CHATSTATE_LOG_LEVEL": "WARNING",
        "CHATSTATE_LOG_FORMAT": "json",
    }


@contextmanager
def api_process(
    env: StackSlice, log_path: Path, *, wait_ready: bool = True, ops_port: int = 0,
    args: tuple[str, ...] = (),
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``chatstate api`` started and (unless told not to wait) ready: its process and base URL;
    stopped afterwards. The ops port is off unless ``ops_port`` names one."""
    port = free_port()
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "chatstate"), "api", "--host", "127.0.0.1",
         "--port", str(port), *args],
        env=api_process_env(env, ops_port), stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while wait_ready:
            if proc.poll() is not None:
                raise AssertionError(f"chatstate api exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("chatstate api did not become ready within 30 s")
            time.sleep(0.2)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@pytest.fixture
def served_api(env: StackSlice, tmp_path: Path) -> Iterator[ServedApi]:
    ops_port = free_port()
    with api_process(env, tmp_path / "api.log", ops_port=ops_port) as (_, base):
        yield ServedApi(base, env, f"http://127.0.0.1:{ops_port}")
