"""The rendered Helm chart against the processes it runs: probes on ports and paths they serve,
environment variables that are real settings, commands that exist, secrets only by reference,
the security context on every container, and the worker's bounds (replicas, grace period)."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from processor.cli import app as cli
from processor.ops_server import PATHS as OPS_PATHS
from processor.settings import Settings
from tests.deploy.conftest import DEPLOY, ROOT, by_kind, containers

SECRET_ENVS = {
    "DATABASE_URL", "KAFKA_SASL_PASSWORD", "CHATSTATE_TOKEN_SIGNING_KEY",
    "CHATSTATE_OAUTH_CLIENTS", "CHATSTATE_DLQ_ENCRYPTION_KEY", "GENESYS_CLIENT_SECRET",
}
# The port setting each process listens on, and the paths its probes may use.
API_PATHS = ("/healthz", "/readyz")  # processor/api/ops.py: on the public port


def setting_names() -> set[str]:
    """Every environment variable a Settings field is read from (prefix or alias)."""
    names: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            names.update(str(c) for c in choices)
        else:
            names.add(f"CHATSTATE_{field_name.upper()}")
    return names


def config_map(manifests: list[dict[str, Any]]) -> dict[str, str]:
    (cm,) = by_kind(manifests, "ConfigMap")
    return dict(cm["data"])


def env_of(container: dict[str, Any], cm: dict[str, str]) -> dict[str, Any]:
    env: dict[str, Any] = {}
    if container.get("envFrom"):
        env.update(cm)
    for e in container.get("env", []):
        env[e["name"]] = e.get("value", e.get("valueFrom"))
    return env


def test_every_environment_variable_is_a_real_setting(manifests: list[dict[str, Any]]) -> None:
    known = setting_names()
    cm = config_map(manifests)
    unknown = sorted(set(cm) - known)
    assert not unknown, f"ConfigMap sets what no setting reads: {unknown}"
    for where, c in containers(manifests):
        names = {e["name"] for e in c.get("env", [])}
        assert not names - known, f"{where}/{c['name']}: {sorted(names - known)}"


def test_secrets_come_only_from_existing_secret_references(
    manifests: list[dict[str, Any]],
) -> None:
    cm = config_map(manifests)
    assert not SECRET_ENVS & set(cm), "a secret in the ConfigMap"
    seen = set()
    for where, c in containers(manifests):
        for e in c.get("env", []):
            if e["name"] in SECRET_ENVS:
                assert "value" not in e, f"{where}: {e['name']} given by value"
                assert e["valueFrom"]["secretKeyRef"]["name"], where
                seen.add(e["name"])
    assert seen == SECRET_ENVS, f"never referenced: {sorted(SECRET_ENVS - seen)}"
    assert not by_kind(manifests, "Secret"), "the chart must not create Secrets"


def _port_number(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (found,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(found)


@pytest.mark.parametrize(("component", "setting", "paths"), [
    ("worker", "CHATSTATE_WORKER_HTTP_PORT", OPS_PATHS),
    ("bridge", "CHATSTATE_BRIDGE_HTTP_PORT", OPS_PATHS),
    ("api", "CHATSTATE_API_PORT", API_PATHS),
])
def test_probes_hit_a_port_and_path_the_process_serves(
    manifests: list[dict[str, Any]], component: str, setting: str, paths: tuple[str, ...],
) -> None:
    cm = config_map(manifests)
    (deployment,) = [d for d in by_kind(manifests, "Deployment")
                     if d["metadata"]["name"].endswith(f"-{component}")]
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    listens = int(env_of(c, cm)[setting])
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = c[kind]["httpGet"]
        assert _port_number(c, probe["port"]) == listens, (component, kind)
        assert probe["path"] in paths, (component, kind, probe["path"])
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # A probe times out before the server gives up on a slow dependency check (8 s).
    assert c["readinessProbe"]["timeoutSeconds"] > 8


def test_prometheus_scrapes_ops_ports_that_serve_metrics(manifests: list[dict[str, Any]]) -> None:
    cm = config_map(manifests)
    (monitor,) = by_kind(manifests, "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert "/metrics" in OPS_PATHS  # worker and bridge; the API's ops app serves it too
    expected = {"worker": cm["CHATSTATE_WORKER_HTTP_PORT"],
                "bridge": cm["CHATSTATE_BRIDGE_HTTP_PORT"], "api": cm["CHATSTATE_API_OPS_PORT"]}
    for svc in by_kind(manifests, "Service"):
        component = svc["metadata"]["labels"]["app.kubernetes.io/component"]
        (ops,) = [p for p in svc["spec"]["ports"] if p["name"] == endpoint["port"]]
        assert str(ops["port"]) == expected[component], svc["metadata"]["name"]


def test_every_command_is_a_real_chatstate_subcommand(manifests: list[dict[str, Any]]) -> None:
    runner = CliRunner()
    commands = {tuple(c["args"]) for _, c in containers(manifests)}
    assert {("worker",), ("api",), ("topics", "apply"), ("db", "migrate")} <= commands
    assert any(args[0] == "bridge" for args in commands)
    for args in commands:
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)


def test_every_container_runs_unprivileged_on_a_read_only_root(
    manifests: list[dict[str, Any]],
) -> None:
    for doc in manifests:
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        if pod is None:
            continue
        assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        mounts = {v["name"] for v in pod["volumes"]}
        assert "tmp" in mounts  # the one writable place (Faust's data dir, caches)
        for c in pod.get("initContainers", []) + pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, c["name"]
            assert sc["allowPrivilegeEscalation"] is False, c["name"]
            assert c["resources"]["requests"], c["name"]
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]  # noqa: S108


def test_topics_and_migrations_run_before_install_and_upgrade(
    manifests: list[dict[str, Any]],
) -> None:
    (job,) = by_kind(manifests, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    pod = job["spec"]["template"]["spec"]
    assert [c["args"] for c in pod["initContainers"]] == [["topics", "apply"]]
    assert [c["args"] for c in pod["containers"]] == [["db", "migrate"]]
    env = {e["name"] for e in pod["containers"][0]["env"]}
    assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "CHATSTATE_TOPIC_PREFIX"} <= env


def test_workers_fit_the_partitions_and_outlast_a_batch(manifests: list[dict[str, Any]]) -> None:
    topics = yaml.safe_load((ROOT / "topics.yaml").read_text())["topics"]
    partitions = topics["chatstate.session-updates"]["partitions"]
    values = yaml.safe_load((DEPLOY / "helm" / "chatstate" / "values.yaml").read_text())
    assert values["worker"]["partitions"] == partitions, "values.yaml disagrees with topics.yaml"
    (worker,) = [d for d in by_kind(manifests, "Deployment")
                 if d["metadata"]["name"].endswith("-worker")]
    assert worker["spec"]["replicas"] <= partitions
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > Settings().kafka_write_timeout_s  # the longest single wait of a batch
    pdbs = [p for p in by_kind(manifests, "PodDisruptionBudget")
            if p["spec"]["selector"] == worker["spec"]["selector"]]
    assert len(pdbs) == 1
    (bridge,) = [d for d in by_kind(manifests, "Deployment")
                 if d["metadata"]["name"].endswith("-bridge")]
    assert bridge["spec"]["replicas"] == 1
    # A new bridge cannot become ready while the old one holds the lease: never both at once.
    assert bridge["spec"]["strategy"] == {"type": "Recreate"}


def test_the_chart_refuses_more_workers_than_partitions() -> None:
    helm = os.environ["HELM"]
    out = subprocess.run(
        [helm, "template", "x", str(DEPLOY / "helm" / "chatstate"), "--kube-version", "1.31.0",
         "--set", "kafka.bootstrapServers=k:9092", "--set", "worker.replicas=7"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode != 0
    assert "must not exceed worker.partitions" in out.stderr


def test_api_has_a_service_an_autoscaler_and_a_disruption_budget(
    manifests: list[dict[str, Any]],
) -> None:
    (hpa,) = by_kind(manifests, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"].endswith("-api")
    assert hpa["spec"]["minReplicas"] >= 2
    names = {d["metadata"]["name"] for d in by_kind(manifests, "Service")}
    assert any(n.endswith("-api") for n in names)
