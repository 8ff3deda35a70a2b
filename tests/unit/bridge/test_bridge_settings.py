"""The bridge's settings come from the environment names DESIGN.md fixes, secrets masked."""

from __future__ import annotations

import pytest

from processor.bridge import Bridge
from processor.errors import ConfigError
from processor.kafka_security import KafkaSecurity
from processor.settings import Settings

SECRET = "s3cr3t-genesys-value"


def test_genesys_variables_are_read_and_the_secret_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENESYS_REGION", "mypurecloud.ie")
    monkeypatch.setenv("GENESYS_CLIENT_ID", "cid")
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("GENESYS_QUEUE_IDS", " q1, q2 ,,")
    s = Settings()
    assert s.genesys_queues == ["q1", "q2"]
    assert s.genesys_region == "mypurecloud.ie"
    shown = s.masked()
    assert shown["genesys_client_secret"] == "**********"
    assert SECRET not in repr(s)
    assert SECRET not in str(shown)


def test_a_bridge_without_credentials_is_refused_naming_the_variables() -> None:
    s = Settings(genesys_region="mypurecloud.com")
    with pytest.raises(ConfigError, match="GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET"):
        Bridge(s, "k:9092", KafkaSecurity(), "postgresql://x/y")
    s = Settings(genesys_client_id="c", genesys_client_secret=SECRET)
    with pytest.raises(ConfigError, match="GENESYS_REGION"):
        Bridge(s, "k:9092", KafkaSecurity(), "postgresql://x/y")
