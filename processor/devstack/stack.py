"""``chatstate dev up | down | status | env``: the two servers as one stack."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from processor.devstack.kafka import KafkaNode
from processor.devstack.postgres import PostgresNode
from processor.devstack.state import StackState
from processor.kafka_security import KafkaSecurity
from processor.settings import Settings

__all__ = ["LocalStack", "StackStatus"]


@dataclass(frozen=True)
class StackStatus:
    kafka_running: bool
    postgres_running: bool
    kafka_bootstrap: str | None
    database_url: str | None
    kafka_pid: int | None
    postgres_pid: int | None
    # SASL_SSL + the stack's CA when the stack is secure, else PLAINTEXT.
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)

    @property
    def up(self) -> bool:
        return self.kafka_running and self.postgres_running

    def client_environment(self) -> dict[str, str]:
        """The variables that point chatstate (or a child process) at this stack."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap or "",
            "DATABASE_URL": self.database_url or "",
        }
        if self.kafka_security.protocol != "PLAINTEXT":
            env.update(self.kafka_security.environment())
        return env


class LocalStack:
    """Kafka + PostgreSQL on 127.0.0.1, started by and stopped by PID."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kafka = KafkaNode(settings)
        self.postgres = PostgresNode(settings)

    def _load(self) -> StackState:
        return StackState.load(self.settings.state_dir)

    def up(self, *, secure: bool | None = None) -> tuple[StackStatus, float]:
        """Idempotent: starts what is not running, waits until both answer.

        ``secure``: Kafka with a SASL_SSL listener (SCRAM-SHA-512 user) and PostgreSQL with
        TLS only, both with certificates of a throwaway CA made at start; None keeps the
        stack's mode (plain for a new one). A running stack is never reconfigured."""
        t0 = time.monotonic()
        st = self._load()
        # PostgreSQL first: it is quick, and Kafka's start-up dominates either way.
        st.postgres = self.postgres.start(st.postgres, secure=secure)
        st.save(self.settings.state_dir)
        st.kafka = self.kafka.start(st.kafka, secure=secure)
        st.save(self.settings.state_dir)
        return self.status(), time.monotonic() - t0

    def down(self) -> list[str]:
        st = self._load()
        stopped = []
        if self.kafka.stop(st.kafka):
            stopped.append("kafka")
        if self.postgres.stop(st.postgres):
            stopped.append("postgres")
        st.save(self.settings.state_dir)
        return stopped

    def restart(self, which: str, *, hard: bool = False) -> None:
        """Stop and start one server (for fault tests and operators)."""
        st = self._load()
        if which == "kafka":
            if hard:
                self.kafka.kill(st.kafka)
            else:
                self.kafka.stop(st.kafka)
            st.kafka = self.kafka.start(st.kafka)
        else:
            self.postgres.stop(st.postgres)
            st.postgres = self.postgres.start(st.postgres)
        st.save(self.settings.state_dir)

    def status(self) -> StackStatus:
        st = self._load()
        k, p = self.kafka.running(st.kafka), self.postgres.running(st.postgres)
        return StackStatus(
            kafka_running=k,
            postgres_running=p,
            kafka_bootstrap=self.kafka.bootstrap(st.kafka) if k else None,
            database_url=self.postgres.url(st.postgres) if p else None,
            kafka_pid=st.kafka.pid if k else None,
            postgres_pid=st.postgres.pid if p else None,
            kafka_security=self.kafka.security(st.kafka),
        )
