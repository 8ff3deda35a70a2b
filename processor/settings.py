"""The one settings object: every knob chatstate has, read from the environment.

Server addresses use the conventional unprefixed names (``KAFKA_BOOTSTRAP_SERVERS``,
``DATABASE_URL``) so that the same variables that point the tests at existing servers point the
service at them; everything else is ``CHATSTATE_*``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_state_dir", "project_root"]


def project_root() -> Path:
    """Where ``topics.yaml`` and ``deploy/`` live (the checkout, for an editable install)."""
    return Path(__file__).resolve().parent.parent


def default_state_dir() -> Path:
    # The local stack's PostgreSQL runs as an unprivileged user; /root is not traversable by it,
    # so the throwaway state lives under /tmp, one directory per invoking user.
    import os

    return Path(f"/tmp/chatstate-dev-{os.getuid()}")  # noqa: S108 - throwaway dev stack by design


def _kafka_alias(name: str) -> AliasChoices:
    """``KAFKA_<name>`` (the conventional, DESIGN.md name) or ``CHATSTATE_KAFKA_<name>``."""
    return AliasChoices(f"KAFKA_{name}", f"CHATSTATE_KAFKA_{name}")


class Settings(BaseSettings):
    """Effective configuration. ``chatstate config show`` prints it with secrets masked."""

    # hide_input_in_errors: a mistyped secret (a key, a URL with its password) must not be
    # echoed into the error that refuses it.
    model_config = SettingsConfigDict(
        env_prefix="CHATSTATE_", extra="ignore", hide_input_in_errors=True
    )

    # --- servers -----------------------------------------------------------------------------
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "CHATSTATE_KAFKA_BOOTSTRAP_SERVERS"
        ),
        description="host:port[,host:port]; unset means: the local dev stack, if it is up.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "CHATSTATE_DATABASE_URL"),
        description="postgresql://user:password@host:port/db; unset means: the local dev stack. "
        "TLS with verification: ?sslmode=verify-full&sslrootcert=/path/ca.pem "
        "(docs/operations.md).",
    )
    # Kafka client security: every client (worker, API, CLI, tools) takes it from here through
    # processor.kafka_security, which also checks the combination and names what is missing.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias=_kafka_alias("SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, validation_alias=_kafka_alias("SASL_MECHANISM")
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias=_kafka_alias("SASL_USERNAME")
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias=_kafka_alias("SASL_PASSWORD")
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None, validation_alias=_kafka_alias("SSL_CAFILE"),
        description="PEM CA bundle the brokers' certificates chain to; unset: the system's CAs.",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, validation_alias=_kafka_alias("SSL_CERTFILE"),
        description="Client certificate (PEM) for clusters that authenticate clients by TLS.",
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, validation_alias=_kafka_alias("SSL_KEYFILE")
    )

    # --- topics ------------------------------------------------------------------------------
    topics_file: Path = Field(default_factory=lambda: project_root() / "topics.yaml")
    topic_prefix: str = Field(
        default="", description="Prepended to every topic name (isolates test runs and tenants)."
    )

    # --- local stack -------------------------------------------------------------------------
    state_dir: Path = Field(default_factory=default_state_dir)
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "chatstate")
    kafka_version: str = "4.0.1"
    kafka_heap: str = "768m"

    # --- the session lifecycle ---------------------------------------------------------------
    session_ttl: timedelta = Field(
        default=timedelta(hours=72),
        description="No interaction for this long: the session expires (a new conversation).",
    )
    retention: timedelta = Field(
        default=timedelta(days=90),
        description="Genesys conversation retention: older conversation ids are not routable.",
    )
    orphan_grace: timedelta = Field(
        default=timedelta(minutes=10),
        description="A live conversation without a persisted snapshot for this long is orphaned.",
    )
    require_issued_sessions: bool = Field(
        default=False,
        description="Ids chatstate did not issue raise unknown_session instead of starting one.",
    )
    purge_after: timedelta = Field(
        default=timedelta(days=30),
        description="An archived session (RETENTION after its last interaction) is deleted this "
        "much later: its rows go and chat.sessions gets a tombstone (P0D: once archived).",
    )
    expiry_spike_threshold: int = Field(
        default=100,
        ge=1,
        description="More sessions than this expiring in one scan round raise one expiry_spike "
        "alert (usually: conversations are not being observed).",
    )

    # --- the worker ----------------------------------------------------------------------------
    app_id: str = "chatstate"
    batch_max: int = 500
    batch_within_s: float = Field(
        default=0.02,
        description="Longest wait to fill a batch; under load batches fill first (latency floor).",
    )
    scan_interval_s: float = 30.0
    stage1_process: bool = Field(
        default=True,
        description="Run stage 1 (read inputs, normalise, route) in a sibling process of "
        "`chatstate worker`, so it has a CPU core of its own; false: inside the worker process "
        "(one core for both stages, and stage 2 takes stage 1's updates without decoding them).",
    )
    parked_max_conversations: int = Field(
        default=100_000,
        ge=1,
        description="Most conversations parked at once (events without a known session): rows "
        "of unmapped_conversations, and each worker's in-memory index; beyond it new "
        "conversations' events are refused, counted and alerted once (parked_overflow).",
    )
    unmapped_retention: timedelta = Field(
        default=timedelta(hours=24),
        description="A conversation still unmapped this long after its first event is "
        "forgotten: the leader's scan deletes its parked events (the age bound of parking).",
    )
    scan_alerts_max_per_round: int = Field(
        default=20,
        ge=0,
        description="Per scan round and alert type (orphaned/unmapped conversation): at most "
        "this many per-conversation alerts, then one aggregate alert with the count.",
    )
    group_session_timeout_s: float = Field(
        default=10.0,
        ge=6.0,
        le=60.0,  # Faust refuses one above its request timeout (90 s)
        description="Both consumer groups of the worker: a member silent this long (SIGKILLed, "
        "frozen) loses its partitions to the others. Longer rides out longer pauses (the bench "
        "SIGSTOPs its worker while it produces the backlog) at the cost of a later failover.",
    )

    @property
    def group_heartbeat_interval_s(self) -> float:
        """Three heartbeats per session timeout (Kafka's advice), 3 s at the 10 s default."""
        return min(3.0, self.group_session_timeout_s / 3)

    kafka_write_timeout_s: float = Field(
        default=30.0,
        description="Longest wait for Kafka to acknowledge one write before it is retried on a "
        "new producer (an idempotent producer otherwise retries a batch forever).",
    )
    worker_http_port: int = Field(
        default=8082, ge=0, le=65535,
        description="The worker's /healthz, /readyz and /metrics (0: not served).",
    )
    worker_http_host: str = Field(
        default="127.0.0.1",
        description="Listen address of the worker's ops port; 0.0.0.0 in a container so the "
        "kubelet and Prometheus reach it.",
    )
    max_record_bytes: int = Field(
        default=900_000,
        ge=10_000,
        description="Largest record chatstate writes to any topic (key + value). An update whose "
        "output would be larger is dead-lettered (output_too_large); keep it below the broker's "
        "message.max.bytes and the producer's max_request_size (1 MiB by default).",
    )

    # --- the HTTP API --------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_ops_port: int = Field(
        default=8081, ge=0, le=65535,
        description="/metrics, /docs and /openapi.json listen here (0: not served); the public "
        "port serves the API, /healthz and /readyz only.",
    )
    api_ops_host: str = Field(
        default="127.0.0.1", description="Listen address of the ops port (Prometheus, docs)."
    )
    token_signing_key: SecretStr | None = Field(
        default=None,
        description="HMAC key for the API's bearer tokens (at least 32 bytes; `chatstate api` "
        "refuses to start without one).",
    )
    token_previous_keys: list[SecretStr] = Field(
        default_factory=list,
        description="JSON list of keys whose tokens are still accepted during a rotation "
        "(docs/api.md, rotation); tokens are only ever signed with token_signing_key.",
    )
    token_ttl_s: int = Field(default=3600, ge=60, le=86_400,
                             description="Lifetime of a bearer token; longer ones are refused.")
    # Names, not secrets (S105 reads "token" in the field name as a password).
    token_issuer: str = "chatstate"  # noqa: S105
    token_audience: str = "chatstate-api"  # noqa: S105
    oauth_clients: dict[str, Any] = Field(
        default_factory=dict,
        description='JSON {client_id: {"secret_hash": argon2id hash (`chatstate clients '
        'hash-secret`), "scopes": ["sessions", "snapshots", ...]}}.',
    )
    api_token_rate_per_min: float = Field(
        default=30.0, gt=0, description="POST /oauth/token per client and API process (429 beyond)."
    )
    api_token_burst: int = Field(default=10, ge=1)
    api_issue_rate_per_customer_per_min: float = Field(
        default=30.0, gt=0,
        description="POST /v1/sessions per customer hash and API process (429 beyond).",
    )
    api_issue_burst_per_customer: int = Field(default=20, ge=1)
    api_issue_rate_total_per_s: float = Field(
        default=200.0, gt=0, description="POST /v1/sessions overall per API process (429 beyond)."
    )
    api_issue_burst_total: int = Field(default=400, ge=1)
    api_max_body_bytes: int = Field(
        default=64 * 1024, description="Larger request bodies are refused with 413."
    )
    api_produce_timeout_s: float = Field(
        default=3.0,
        description="How long a request waits for Kafka's ack before answering 503; stays well "
        "inside the 5 s a Genesys data action is given.",
    )
    api_db_pool_max: int = Field(
        default=10,
        description="PostgreSQL connections per API process; requests beyond it wait their turn "
        "in arrival order.",
    )
    api_workers: int = Field(
        default=2, ge=1,
        description="API processes (uvicorn workers); one per core the API may use.",
    )

    # --- the Genesys bridge ----------------------------------------------------------------------
    bridge_http_port: int = Field(
        default=8083, ge=0, le=65535,
        description="The bridge's /healthz, /readyz and /metrics (0: not served).",
    )
    bridge_http_host: str = Field(
        default="127.0.0.1", description="Listen address of the bridge's ops port."
    )

    # --- operations ------------------------------------------------------------------------------
    runbook_base_url: str = Field(
        default="",
        description="Prefix that makes alerts' runbook links absolute, e.g. "
        "https://git.example.com/chatstate/blob/main/ (unset: links stay docs/runbook.md#...).",
    )

    # --- the Genesys bridge (processor/bridge; DESIGN.md names the GENESYS_* variables) ---------
    genesys_region: str | None = Field(
        default=None, validation_alias=AliasChoices("GENESYS_REGION", "CHATSTATE_GENESYS_REGION"),
        description="The org's region domain (mypurecloud.com, mypurecloud.ie, euw2.pure.cloud).",
    )
    genesys_api_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GENESYS_API_BASE_URL", "CHATSTATE_GENESYS_API_BASE_URL"),
        description="Explicit API base URL (an emulator, a proxy); with GENESYS_LOGIN_BASE_URL.",
    )
    genesys_login_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "GENESYS_LOGIN_BASE_URL", "CHATSTATE_GENESYS_LOGIN_BASE_URL"
        ),
    )
    genesys_client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GENESYS_CLIENT_ID", "CHATSTATE_GENESYS_CLIENT_ID"),
    )
    genesys_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("GENESYS_CLIENT_SECRET", "CHATSTATE_GENESYS_CLIENT_SECRET"),
    )
    genesys_queue_ids: str = Field(
        default="",
        validation_alias=AliasChoices("GENESYS_QUEUE_IDS", "CHATSTATE_GENESYS_QUEUE_IDS"),
        description="Comma-separated queue ids to watch; empty: every queue that takes chat or "
        "messaging, rediscovered every bridge_queue_refresh_s.",
    )
    genesys_rate_per_min: float = Field(
        default=240.0, gt=0,
        description="Requests per minute the bridge spends per token (Genesys allows 300).",
    )
    bridge_buffer: int = Field(
        default=10_000, ge=1,
        description="Notifications held while Kafka is slow; when full the bridge stops reading.",
    )
    bridge_heartbeat_timeout_s: float = Field(
        default=75.0, gt=0,
        description="A socket silent this long (Genesys heartbeats every 30 s) is dead.",
    )
    bridge_channel_max_age: timedelta = Field(
        default=timedelta(hours=23),
        description="Replace a channel (make before break) before Genesys's 24 h end.",
    )
    bridge_queue_refresh_s: float = Field(default=300.0, gt=0)
    bridge_backfill_lookback: timedelta = Field(
        default=timedelta(hours=24),
        description="Backfill asks analytics for conversations started this long before a gap "
        "(a messaging conversation can outlive the gap by hours).",
    )
    bridge_lease_retry_s: float = Field(
        default=5.0, gt=0, description="How often a standby bridge tries to take the lease."
    )

    @property
    def genesys_queues(self) -> list[str]:
        return [q.strip() for q in self.genesys_queue_ids.split(",") if q.strip()]

    # --- dead letters ---------------------------------------------------------------------------
    dlq_encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key (or several, comma-separated: the first encrypts, all decrypt) "
        "to keep each dead letter's untouched original encrypted for `chatstate dlq replay`; "
        "unset: dead letters keep only the redacted record. `chatstate dlq new-key` prints one.",
    )

    @field_validator("dlq_encryption_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Refused at start, not at the first dead letter (which would then carry no original)."""
        if value is None:
            return None
        import base64
        import binascii

        keys = [k.strip() for k in value.get_secret_value().split(",") if k.strip()]
        try:
            ok = bool(keys) and all(len(base64.urlsafe_b64decode(k)) == 32 for k in keys)
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                "CHATSTATE_DLQ_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded "
                "bytes) or several separated by commas; `chatstate dlq new-key` prints one"
            )
        return value

    # --- PII guard and logging -----------------------------------------------------------------
    pii_default_region: str = Field(
        default="US",
        description="ISO 3166 alpha-2 region whose national phone formats the PII guard reads "
        "under phone-like keys and next to phone words (international +CC numbers: always).",
    )

    @field_validator("pii_default_region")
    @classmethod
    def _phone_region(cls, value: str) -> str:
        """A region the phone metadata does not know would silently find no national number."""
        import phonenumbers

        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                "CHATSTATE_PII_DEFAULT_REGION must be an ISO 3166 alpha-2 region code in upper "
                "case that libphonenumber knows, e.g. US, GB, DE"
            )
        return value

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets and passwords in URLs masked."""
        out: dict[str, Any] = {}
        for name, value in self:
            if isinstance(value, list) and value and isinstance(value[0], SecretStr):
                shown: Any = ["**********"] * len(value)
            elif isinstance(value, SecretStr):
                shown = mask_url(value.get_secret_value()) if "url" in name else "**********"
            elif isinstance(value, Path | timedelta):
                shown = str(value)
            elif name == "oauth_clients":
                shown = dict.fromkeys(value, "**********")
            else:
                shown = value
            out[name] = shown
        return out


def mask_url(url: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:****@host``; other strings unchanged."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
