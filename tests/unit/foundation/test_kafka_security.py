"""Kafka client security from settings: combinations that cannot work are refused naming the
variable; the aiokafka options and Faust's credentials say the same thing; secrets stay masked."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import SecretStr

from processor.devstack.tls import ensure_pki
from processor.errors import ConfigError
from processor.kafka_security import KafkaSecurity
from processor.producer import make_producer
from processor.settings import Settings

PASSWORD = "pw-" + "x" * 20


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_pki(tmp_path_factory.mktemp("pki")).ca


def sasl_ssl(ca: Path, **changes: Any) -> KafkaSecurity:
    fields: dict[str, Any] = {
        "protocol": "SASL_SSL", "mechanism": "SCRAM-SHA-512", "username": "svc",
        "password": SecretStr(PASSWORD), "cafile": ca,
    }
    fields.update(changes)
    return KafkaSecurity(**fields)


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"username": None}, "KAFKA_SASL_USERNAME is required with SASL_SSL"),
        ({"password": None}, "KAFKA_SASL_PASSWORD is required"),
        ({"password": SecretStr("")}, "KAFKA_SASL_PASSWORD is required"),
        ({"mechanism": None}, "KAFKA_SASL_MECHANISM is required"),
        ({"mechanism": "GSSAPI"}, "KAFKA_SASL_MECHANISM='GSSAPI' is not one of"),
        ({"protocol": "SSL"}, "KAFKA_SASL_USERNAME is set but KAFKA_SECURITY_PROTOCOL=SSL"),
        ({"protocol": "SASL_PLAINTEXT"}, "KAFKA_SSL_CAFILE is set but KAFKA_SECURITY_PROTOCOL"),
        ({"protocol": "TLS"}, "KAFKA_SECURITY_PROTOCOL='TLS' is not one of"),
        ({"cafile": Path("/nonexistent/ca.pem")}, "KAFKA_SSL_CAFILE=/nonexistent/ca.pem is not"),
        ({"keyfile": Path(__file__)}, "KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE"),
    ],
)
def test_a_combination_that_cannot_work_is_refused_naming_the_variable(
    ca: Path, changes: dict[str, Any], names: str
) -> None:
    with pytest.raises(ConfigError, match="Kafka security settings") as caught:
        sasl_ssl(ca, **changes)
    assert names in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_settings_read_the_design_names_from_the_environment_and_mask_the_password(
    ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sasl_ssl(ca).environment().items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert KafkaSecurity.from_settings(settings) == sasl_ssl(ca)
    shown = settings.masked()
    assert shown["kafka_sasl_password"] == "**********"
    assert shown["kafka_sasl_username"] == "svc"
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in repr(sasl_ssl(ca))
    assert PASSWORD not in str(shown)


def test_settings_refuse_an_unknown_protocol_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL")
    with pytest.raises(ValueError, match="KAFKA_SECURITY_PROTOCOL"):
        Settings()


def test_plaintext_is_the_default_and_adds_nothing_but_the_protocol(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD",
                 "SSL_CAFILE", "SSL_CERTFILE", "SSL_KEYFILE"):
        monkeypatch.delenv(f"KAFKA_{name}", raising=False)
    security = KafkaSecurity.from_settings(Settings())
    assert security.client_options() == {"security_protocol": "PLAINTEXT"}
    assert security.faust_credentials() is None


def test_tls_verifies_the_certificate_and_the_host_name(ca: Path) -> None:
    context = sasl_ssl(ca).client_options()["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize(
    "security",
    [
        pytest.param({"protocol": "SSL", "mechanism": None, "username": None, "password": None},
                     id="SSL"),
        pytest.param({"protocol": "SASL_PLAINTEXT", "cafile": None}, id="SASL_PLAINTEXT"),
        pytest.param({}, id="SASL_SSL"),
        pytest.param({"mechanism": "PLAIN"}, id="SASL_SSL-PLAIN"),
        pytest.param({"mechanism": "SCRAM-SHA-256"}, id="SASL_SSL-SCRAM-256"),
    ],
)
def test_faust_gets_the_same_options_as_every_aiokafka_client(
    ca: Path, security: dict[str, Any]
) -> None:
    chosen = sasl_ssl(ca, **security)
    ours = chosen.client_options()
    faust = dict(credentials_to_aiokafka_auth(chosen.faust_credentials()))
    assert faust["security_protocol"] == ours["security_protocol"] == chosen.protocol
    assert (faust.get("ssl_context") is None) == ("ssl_context" not in ours)
    for key in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password"):
        assert faust.get(key) == ours.get(key)


async def test_the_producer_factory_applies_the_security(ca: Path) -> None:
    producer = make_producer("127.0.0.1:9", sasl_ssl(ca))
    client = producer.client
    assert client._security_protocol == "SASL_SSL"
    assert client._sasl_mechanism == "SCRAM-SHA-512"
    assert client._sasl_plain_username == "svc"
    assert isinstance(client._ssl_context, ssl.SSLContext)
