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


_CARD = "4111 1111 1111 1111"
_MAIL = "jane.doe@example.com"
_TOKEN = "abc.def.ghi"


def _fail_with_pii() -> None:
    """Raises with PII in the messages, in a raising source line and in a frame's locals."""
    customer_note = f"card {_CARD} mail {_MAIL}"  # a local: rich's show_locals would print it
    try:
        raise ValueError(customer_note)
    except ValueError as cause:
        raise RuntimeError("refused card 4111 1111 1111 1111 for jane.doe@example.com") from cause


@pytest.mark.parametrize("fmt", ["json", "console"])
@pytest.mark.parametrize(
    "library",
    ["faust.agent", "aiokafka.consumer.group_coordinator", "uvicorn.error", "asyncpg.pool"],
)
def test_library_exceptions_keep_their_traceback_and_lose_their_pii(
    capsys: pytest.CaptureFixture[str], library: str, fmt: str
) -> None:
    configure_logging("INFO", fmt)  # type: ignore[arg-type]
    try:
        _fail_with_pii()
    except RuntimeError:
        logging.getLogger(library).exception("handler failed for %s", _MAIL)
        logging.getLogger(library).error("again, Bearer abc.def.ghi", exc_info=True)
    err = capsys.readouterr().err
    for leaked in (_CARD, "4111111111111111", _MAIL, _TOKEN):
        assert leaked not in err, leaked
    text = json.loads(err.splitlines()[0])["exception"] if fmt == "json" else err
    assert "Traceback (most recent call last)" in text
    assert "in _fail_with_pii" in text  # the frame that raised
    assert "ValueError: card [REDACTED:card_number] mail [REDACTED:email]" in text  # the cause
    assert "RuntimeError: refused card [REDACTED:card_number] for [REDACTED:email]" in text
    assert err.count("Traceback (most recent call last)") == 4  # two records, two exceptions each


def test_our_own_exceptions_are_masked_with_their_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    try:
        _fail_with_pii()
    except RuntimeError:
        get_logger("chatstate.worker").exception("batch failed")
    line = json.loads(capsys.readouterr().err.splitlines()[0])
    assert "in _fail_with_pii" in line["exception"]
    assert _CARD not in line["exception"]
    assert _MAIL not in line["exception"]


def test_a_dlq_encryption_key_is_checked_at_start_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.fernet import Fernet
    from pydantic import ValidationError

    monkeypatch.setenv("CHATSTATE_DLQ_ENCRYPTION_KEY", "not-a-fernet-key-but-secret")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "CHATSTATE_DLQ_ENCRYPTION_KEY must be a Fernet key" in str(caught.value)
    assert "not-a-fernet-key-but-secret" not in str(caught.value)
    good = Fernet.generate_key().decode()
    monkeypatch.setenv("CHATSTATE_DLQ_ENCRYPTION_KEY", f"{good}, {Fernet.generate_key().decode()}")
    s = Settings()
    assert s.dlq_encryption_key is not None
    assert s.dlq_encryption_key.get_secret_value().startswith(good)
    assert good not in json.dumps(s.masked())


def test_a_library_that_configured_its_own_loggers_is_masked_all_the_same(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn's default log config gives "uvicorn" its own handler and stops propagation: its
    lines would go out unmasked, around chatstate's chain."""
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)
    configure_logging("INFO", "json")
    logging.getLogger("uvicorn.error").error("handler failed for %s", _MAIL)
    err = capsys.readouterr().err
    assert _MAIL not in err
    assert json.loads(err.splitlines()[0])["logger"] == "uvicorn.error"


def test_a_group_session_timeout_faust_would_refuse_stops_the_worker_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faust refuses a session timeout above its request timeout (90 s) only once the app is
    built; the setting refuses it at start, naming the variable."""
    from pydantic import ValidationError

    monkeypatch.setenv("CHATSTATE_GROUP_SESSION_TIMEOUT_S", "120")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "group_session_timeout_s" in str(caught.value)
    monkeypatch.setenv("CHATSTATE_GROUP_SESSION_TIMEOUT_S", "60")
    assert Settings().group_session_timeout_s == 60
    assert Settings().group_heartbeat_interval_s == 3.0  # heartbeats stay frequent
    monkeypatch.setenv("CHATSTATE_GROUP_SESSION_TIMEOUT_S", "6")
    assert Settings().group_heartbeat_interval_s == 2.0  # three per timeout at the shortest
