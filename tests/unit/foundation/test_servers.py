"""The API, the worker and the bridge take their servers from settings, never from a dev stack
that happens to run on the same host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from processor.errors import ConfigError
from processor.servers import from_settings
from processor.settings import Settings

ROOT = Path(__file__).parents[3]


def test_the_servers_named_by_the_settings_are_used() -> None:
    ep = from_settings(
        Settings(kafka_bootstrap_servers="k:9092", database_url=SecretStr("postgresql://h/db"))
    )
    assert (ep.kafka_bootstrap, ep.source) == ("k:9092", "env")
    assert ep.database_url == "postgresql://h/db"


@pytest.mark.parametrize(
    ("kafka", "db", "named"),
    [(None, None, "KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL"), ("k:9092", None, "DATABASE_URL")],
)
def test_missing_servers_are_named(kafka: str | None, db: str | None, named: str) -> None:
    settings = Settings(
        kafka_bootstrap_servers=kafka, database_url=SecretStr(db) if db else None
    )
    with pytest.raises(ConfigError, match=named):
        from_settings(settings)


@pytest.mark.parametrize("command", ["worker", "bridge"])
def test_a_production_process_without_servers_refuses_to_start(command: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "CHATSTATE_LOG_FORMAT": "json"}
    done = subprocess.run(
        [sys.executable, "-m", "processor.cli", command],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode != 0
    assert "KAFKA_BOOTSTRAP_SERVERS" in done.stdout + done.stderr
