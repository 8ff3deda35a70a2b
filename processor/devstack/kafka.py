"""A single-node Apache Kafka (KRaft, broker+controller) from the Maven Central jars.

Why not a tarball: the only registries this project may rely on are package registries; Maven
Central serves ``org.apache.kafka:kafka_2.13`` and everything it needs to run.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from processor.devstack.process import free_port, is_ours, port_open, spawn, stop, tail
from processor.devstack.state import KafkaState
from processor.errors import StackError
from processor.settings import Settings, project_root

__all__ = ["KafkaNode"]


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

    def start(self, st: KafkaState, timeout: float = 300.0) -> KafkaState:
        if self.running(st):
            return st
        libs = self.ensure_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        if not st.port or port_open(st.port):
            st.port = free_port()
        if not st.controller_port or port_open(st.controller_port):
            st.controller_port = free_port()
        if not st.cluster_id or st.version != self.settings.kafka_version:
            shutil.rmtree(self.data, ignore_errors=True)
            st.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
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

    # -- internals ------------------------------------------------------------------------------
    def _write_props(self, st: KafkaState) -> None:
        self.props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{st.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{st.port},"
                    f"CONTROLLER://127.0.0.1:{st.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{st.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
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
            if port_open(st.port) and asyncio.run(_answers(self.bootstrap(st))):
                return
            time.sleep(0.3)
        raise StackError(f"Kafka did not answer within {timeout:.0f}s; log:\n{tail(self.log)}")


async def _answers(bootstrap: str) -> bool:
    """True once the broker serves metadata (a TCP accept alone is not readiness)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()
