"""How every Kafka client chatstate makes proves who it is and checks who it talks to.

One place turns the ``KAFKA_SECURITY_PROTOCOL`` / ``KAFKA_SASL_*`` / ``KAFKA_SSL_*`` settings into
what the two client libraries take: aiokafka's keyword arguments (``security_protocol``,
``sasl_mechanism``, ``sasl_plain_username``/``password``, ``ssl_context``: the producer factory,
admin calls, consumers) and Faust's ``broker_credentials`` (``faust.SASLCredentials`` /
``faust.SSLCredentials``, which Faust hands to the same aiokafka arguments). A client built
anywhere else could silently talk PLAINTEXT to a cluster that expects SASL_SSL.

The TLS context comes from ``aiokafka.helpers.create_ssl_context``: certificate and host name
are always verified (against ``KAFKA_SSL_CAFILE``, else the system's CAs, which is what managed
clusters with public certificates need). aiokafka speaks SCRAM-SHA-256/512 itself.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import SecretStr

from processor.errors import ConfigError

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

    from processor.settings import Settings

__all__ = ["PLAINTEXT", "KafkaSecurity", "Mechanism", "Protocol", "diagnose"]

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@dataclass(frozen=True)
class KafkaSecurity:
    """Validated Kafka client security; build it with :meth:`from_settings`."""

    protocol: Protocol = "PLAINTEXT"
    mechanism: Mechanism | None = None
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ConfigError("Kafka security settings: " + "; ".join(problems))

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        """Raises ``ConfigError`` naming the variable when the combination cannot work."""
        return cls(
            protocol=settings.kafka_security_protocol,
            mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
        )

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def problems(self) -> list[str]:
        """Every reason this combination cannot work, each naming the variable to fix."""
        out: list[str] = []
        if self.protocol not in get_args(Protocol):
            out.append(
                f"KAFKA_SECURITY_PROTOCOL={self.protocol!r} is not one of "
                + ", ".join(get_args(Protocol))
            )
            return out
        if self.uses_sasl:
            if self.mechanism is None:
                out.append(
                    f"KAFKA_SASL_MECHANISM is required with {self.protocol} "
                    "(PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
                )
            elif self.mechanism not in get_args(Mechanism):
                out.append(
                    f"KAFKA_SASL_MECHANISM={self.mechanism!r} is not one of "
                    + ", ".join(get_args(Mechanism))
                )
            if not self.username:
                out.append(f"KAFKA_SASL_USERNAME is required with {self.protocol}")
            if self.password is None or not self.password.get_secret_value():
                out.append(f"KAFKA_SASL_PASSWORD is required with {self.protocol}")
        else:
            for var, value in (
                ("KAFKA_SASL_MECHANISM", self.mechanism),
                ("KAFKA_SASL_USERNAME", self.username),
                ("KAFKA_SASL_PASSWORD", self.password),
            ):
                if value is not None:
                    out.append(
                        f"{var} is set but KAFKA_SECURITY_PROTOCOL={self.protocol} does not use "
                        "SASL (SASL_SSL or SASL_PLAINTEXT?)"
                    )
        files = (
            ("KAFKA_SSL_CAFILE", self.cafile),
            ("KAFKA_SSL_CERTFILE", self.certfile),
            ("KAFKA_SSL_KEYFILE", self.keyfile),
        )
        for var, path in files:
            if path is None:
                continue
            if not self.uses_tls:
                out.append(
                    f"{var} is set but KAFKA_SECURITY_PROTOCOL={self.protocol} does not use TLS "
                    "(SSL or SASL_SSL?)"
                )
            elif not path.is_file():
                out.append(f"{var}={path} is not a readable file")
        if self.keyfile is not None and self.certfile is None:
            out.append("KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE (the client cert)")
        return out

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verifying context (certificate chain and host name), or None without TLS."""
        if not self.uses_tls:
            return None
        from aiokafka.helpers import create_ssl_context

        context: ssl.SSLContext = create_ssl_context(
            cafile=self.cafile, certfile=self.certfile, keyfile=self.keyfile
        )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``/``Consumer``/``AdminClient``."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            assert self.password is not None
            options["sasl_mechanism"] = self.mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password.get_secret_value()
        return options

    def faust_credentials(self) -> CredentialsT | None:
        """``broker_credentials=`` for ``faust.App`` (None: PLAINTEXT)."""
        import faust

        if self.uses_sasl:
            assert self.password is not None
            # An ssl_context makes Faust's SASLCredentials speak SASL_SSL, none SASL_PLAINTEXT.
            return faust.SASLCredentials(
                username=self.username,
                password=self.password.get_secret_value(),
                ssl_context=self.ssl_context(),
                mechanism=self.mechanism,
            )
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context())
        return None

    def environment(self) -> dict[str, str]:
        """The same security as environment variables, for a child process."""
        env: dict[str, str] = {"KAFKA_SECURITY_PROTOCOL": self.protocol}
        for var, value in (
            ("KAFKA_SASL_MECHANISM", self.mechanism),
            ("KAFKA_SASL_USERNAME", self.username),
            ("KAFKA_SASL_PASSWORD", self.password.get_secret_value() if self.password else None),
            ("KAFKA_SSL_CAFILE", self.cafile),
            ("KAFKA_SSL_CERTFILE", self.certfile),
            ("KAFKA_SSL_KEYFILE", self.keyfile),
        ):
            if value is not None:
                env[var] = str(value)
        return env


PLAINTEXT = KafkaSecurity()


async def diagnose(bootstrap: str, security: KafkaSecurity, timeout_s: float = 10.0) -> str:
    """Why no client gets through to ``bootstrap``, in words that name the setting to fix.

    aiokafka only logs the cause of a failed bootstrap and raises a generic "Unable to
    bootstrap"; this dials each address itself the same way (TLS handshake, SASL exchange) and
    says what the first failure was: a refused password, an unverifiable certificate, a
    listener speaking another protocol, or nothing listening at all."""
    import asyncio

    from aiokafka.conn import create_conn
    from aiokafka.errors import (
        KafkaConnectionError,
        SaslAuthenticationFailed,
        UnsupportedSaslMechanismError,
    )

    options = security.client_options()
    reasons = []
    for address in (a.strip() for a in bootstrap.split(",") if a.strip()):
        host, _, port = address.rpartition(":")
        where = f"Kafka at {address} (KAFKA_BOOTSTRAP_SERVERS)"
        try:
            conn = await asyncio.wait_for(
                create_conn(host, int(port), request_timeout_ms=int(timeout_s * 1000), **options),
                timeout_s,
            )
        except SaslAuthenticationFailed:
            reasons.append(
                f"{where} refused the credentials of KAFKA_SASL_USERNAME={security.username!r} "
                f"with KAFKA_SASL_MECHANISM={security.mechanism}: wrong KAFKA_SASL_PASSWORD or "
                "unknown user"
            )
        except UnsupportedSaslMechanismError:
            reasons.append(
                f"{where} does not enable KAFKA_SASL_MECHANISM={security.mechanism} on this "
                "listener"
            )
        except ssl.SSLCertVerificationError as exc:
            reasons.append(
                f"the TLS certificate of {where} could not be verified ({exc.verify_message}): "
                "set KAFKA_SSL_CAFILE to the CA that signed it"
                + (f" (now {security.cafile})" if security.cafile else "")
            )
        except ssl.SSLError as exc:
            reasons.append(
                f"TLS with {where} failed ({exc.reason}): is the listener TLS "
                f"(KAFKA_SECURITY_PROTOCOL={security.protocol})?"
            )
        except (KafkaConnectionError, ConnectionResetError, asyncio.IncompleteReadError):
            reasons.append(
                f"{where} closed the connection during the handshake: does the listener expect "
                f"another KAFKA_SECURITY_PROTOCOL than {security.protocol}?"
            )
        except (OSError, TimeoutError) as exc:
            reasons.append(f"nothing answers at {where}: {type(exc).__name__}: {exc}")
        else:
            conn.close()
            return f"{where} accepts a {security.protocol} connection now"
    return "; ".join(reasons) or "KAFKA_BOOTSTRAP_SERVERS names no address"
