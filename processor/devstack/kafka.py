"""A single-node Apache Kafka (KRaft, broker+controller) from the Maven Central jars.

Why not a tarball: the only registries this project may rely on are package registries; Maven
Central serves ``org.apache.kafka:kafka_2.13`` and everything it needs to run.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from processor.devstack.process import free_port, is_ours, port_open, spawn, stop, tail
from processor.devstack.state import KafkaState
from processor.devstack.tls import ensure_pki
from processor.errors import StackError
from processor.kafka_security import KafkaSecurity
from processor.settings import Settings, project_root

__all__ = ["KafkaNode"]



def cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64, never starting with ``-`` (the
    storage tool would read such an id as an option and refuse to format: 1 run in 64 failed,
    as Kafka's own ``Uuid.randomUuid`` avoids for the same reason)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found

class KafkaNode:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "kafka"
        self.data = self.home / "data"
        self.log = self.home / "broker.log"
        self.props = self.home / "server.properties"
        self.libs = settings.cache_dir / f"kafka-{settings.kafka_version}" / "libs"

    # -- jars ---------------------------------------------------------------------------------
    def ensure_jars(self) -> Path:
        marker = self.libs / ".complete"
        if marker.exists():
            return self.libs
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise StackError(
                "the local Kafka needs Java 17 and Maven (apt-get install openjdk-17-jre-headless "
                "maven), or set KAFKA_BOOTSTRAP_SERVERS to an existing broker"
            )
        work = self.libs.parent
        work.mkdir(parents=True, exist_ok=True)
        pom = (project_root() / "deploy" / "kafka" / "pom.xml").read_text()
        (work / "pom.xml").write_text(pom.replace("KAFKA_VERSION", self.settings.kafka_version))
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(work / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"mvn could not fetch Kafka {self.settings.kafka_version}:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        marker.touch()
        return self.libs

    # -- lifecycle ------------------------------------------------------------------------------
    def running(self, st: KafkaState) -> bool:
        return is_ours(st.pid, str(self.props)) and port_open(st.port)

    def start(
        self, st: KafkaState, timeout: float = 300.0, *, secure: bool | None = None
    ) -> KafkaState:
        """Start (idempotent). ``secure``: a SASL_SSL listener with one SCRAM-SHA-512 user
        instead of PLAINTEXT; None keeps the mode the stack has. Switching the mode of a
        stopped stack starts from empty storage (SCRAM users are written at format time)."""
        if self.running(st):
            if secure is not None and secure != st.secure:
                raise StackError(
                    f"the local Kafka is running {'with' if st.secure else 'without'} --secure; "
                    "stop that stack first (or use another CHATSTATE_STATE_DIR)"
                )
            return st
        if secure is not None and secure != st.secure:
            st.secure, st.cluster_id = secure, ""
        if st.secure and not st.sasl_password:
            st.sasl_password = secrets.token_hex(16)
        libs = self.ensure_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        if not st.port or port_open(st.port):
            st.port = free_port()
        if not st.controller_port or port_open(st.controller_port):
            st.controller_port = free_port()
        if not st.cluster_id or st.version != self.settings.kafka_version:
            shutil.rmtree(self.data, ignore_errors=True)
            st.cluster_id = cluster_id()
        st.version = self.settings.kafka_version
        self._write_props(st)
        java = [
            "java",
            f"-Xmx{self.settings.kafka_heap}",
            f"-Xms{self.settings.kafka_heap}",
            # The flags kafka-server-start.sh gives the broker (KAFKA_JVM_PERFORMANCE_OPTS). Without
            # MaxGCPauseMillis=20, G1 aims at 200 ms: young pauses of ~35 ms over a 480 MB eden on
            # these vCPUs, each one stalling every produce in flight (the API's persist p99).
            "-server",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:MaxInlineLevel=15",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={project_root() / 'deploy' / 'kafka' / 'log4j2.yaml'}",
            "-cp",
            f"{libs}/*",
        ]
        if not (self.data / "meta.properties").exists():
            fmt = subprocess.run(
                [
                    *java,
                    "kafka.tools.StorageTool",
                    "format",
                    "--ignore-formatted",
                    "-t",
                    st.cluster_id,
                    "-c",
                    str(self.props),
                    *self._scram_users(st),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if fmt.returncode != 0:
                raise StackError(f"formatting Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")
        proc = spawn([*java, "kafka.Kafka", str(self.props)], self.log)
        st.pid = proc.pid
        self._wait_ready(st, proc, timeout)
        return st

    def stop(self, st: KafkaState) -> bool:
        stopped = bool(st.pid) and stop(st.pid or 0, str(self.props))
        st.pid = None
        return stopped

    def kill(self, st: KafkaState) -> None:
        """SIGKILL, for fault tests: no controlled shutdown."""
        import signal

        if st.pid and is_ours(st.pid, str(self.props)):
            stop(st.pid, str(self.props), sig=signal.SIGKILL)

    def bootstrap(self, st: KafkaState) -> str:
        return f"127.0.0.1:{st.port}"

    def security(self, st: KafkaState) -> KafkaSecurity:
        """What a client needs to reach this broker (PLAINTEXT unless the stack is secure)."""
        if not st.secure:
            return KafkaSecurity()
        from pydantic import SecretStr

        return KafkaSecurity(
            protocol="SASL_SSL",
            mechanism="SCRAM-SHA-512",
            username=st.sasl_username,
            password=SecretStr(st.sasl_password),
            cafile=ensure_pki(self.settings.state_dir / "tls").ca,
        )

    def _scram_users(self, st: KafkaState) -> list[str]:
        # KRaft keeps SCRAM credentials in the metadata log; `format --add-scram` writes the
        # first ones into the bootstrap checkpoint, before any listener needs them (KIP-900).
        if not st.secure:
            return []
        return [
            "--add-scram",
            f"SCRAM-SHA-512=[name={st.sasl_username},password={st.sasl_password}]",
        ]

    # -- internals ------------------------------------------------------------------------------
    def _listener_props(self, st: KafkaState) -> list[str]:
        if not st.secure:
            return [
                f"listeners=PLAINTEXT://127.0.0.1:{st.port},"
                f"CONTROLLER://127.0.0.1:{st.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{st.port}",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
            ]
        tls = ensure_pki(self.settings.state_dir / "tls")
        # The broker is its own client on the inter-broker listener: same user, same CA, and
        # the host name is verified (the certificate names 127.0.0.1).
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{st.sasl_username}" password="{st.sasl_password}";'
        )
        return [
            f"listeners=SASL_SSL://127.0.0.1:{st.port},"
            f"CONTROLLER://127.0.0.1:{st.controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{st.port}",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=SASL_SSL",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={tls.keystore}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls.ca}",
            "ssl.client.auth=none",
        ]

    def _write_props(self, st: KafkaState) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a password
        self.props.chmod(0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self._props_text(st))

    def _props_text(self, st: KafkaState) -> str:
        return (
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{st.controller_port}",
                    *self._listener_props(st),
                    "controller.listener.names=CONTROLLER",
                    f"log.dirs={self.data}",
                    "num.partitions=1",
                    "default.replication.factor=1",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=8",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "log.retention.check.interval.ms=60000",
                    "",
                ]
            )
        )

    def _wait_ready(self, st: KafkaState, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"Kafka exited during start-up; its log ends:\n{tail(self.log)}")
            if port_open(st.port) and asyncio.run(
                _answers(self.bootstrap(st), self.security(st))
            ):
                return
            time.sleep(0.3)
        raise StackError(f"Kafka did not answer within {timeout:.0f}s; log:\n{tail(self.log)}")


async def _answers(bootstrap: str, security: KafkaSecurity) -> bool:
    """True once the broker serves metadata (a TCP accept alone is not readiness)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=3000, **security.client_options()
    )
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()
