"""Settings are masked when shown; logs never carry secrets or PII."""

from __future__ import annotations

import json
import logging

import pytest

from processor.logs import configure_logging, get_logger
from processor.settings import Settings


def test_config_show_masks_the_database_password_and_signing_key() -> None:
    s = Settings(
        database_url="postgresql://u:hunter2pass@db:5432/x", token_signing_key="very-secret-key"
    )  # type: ignore[arg-type]
    shown = json.dumps(s.masked())
    assert "hunter2pass" not in shown
    assert "very-secret-key" not in shown
    assert "postgresql://u:****@db:5432/x" in shown


def test_server_addresses_come_from_the_conventional_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://a:b@h/d")
    monkeypatch.setenv("CHATSTATE_SESSION_TTL", "PT2H")
    s = Settings()
    assert s.kafka_bootstrap_servers == "k1:9092"
    assert s.database_url is not None
    assert s.database_url.get_secret_value().endswith("/d")
    assert s.session_ttl.total_seconds() == 7200


def test_log_lines_mask_secrets_urls_tokens_and_pii(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    get_logger("t").info(
        "connecting",
        url="postgresql://svc:s3cr3tpw@db/x",
        password="pw-123",
        header="Bearer abc.def.ghi",
        note="card 4111 1111 1111 1111 mail jane.doe@example.com",
    )
    logging.getLogger("aiokafka.foreign").warning("client_secret=%s", {"client_secret": "zzz"})
    err = capsys.readouterr().err
    for leaked in ("s3cr3tpw", "pw-123", "abc.def.ghi", "4111 1111", "jane.doe@", "zzz"):
        assert leaked not in err, leaked
    assert "[REDACTED:card_number]" in err
    assert "[REDACTED:email]" in err
