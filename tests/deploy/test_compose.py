"""deploy/compose against what chatstate is: (no Docker engine here, so a structural check
instead of `docker compose config`) services and their order, Kafka 4.0 in KRaft mode, real
settings and subcommands, scrape targets on the ports the processes serve, secrets only from
the env file, and the image's own Dockerfile."""

from __future__ import annotations

import re
import shlex
from typing import Any

import yaml
from typer.testing import CliRunner

from processor.cli import app as cli
from processor.settings import Settings
from tests.deploy.conftest import DEPLOY, ROOT
from tests.deploy.test_chart import SECRET_ENVS, setting_names

CHATSTATE = ("init", "worker-1", "worker-2", "api")
INTERPOLATION = re.compile(r"\$\{([A-Z_]+)(?::?[-?][^}]*)?\}")


def test_every_service_the_issue_names_is_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*CHATSTATE, "kafka", "postgres", "prometheus", "grafana"}
    assert services["kafka"]["image"].startswith("apache/kafka:4.0.")
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # topics.yaml decides
    assert services["init"]["restart"] == "no"
    for name in ("worker-1", "worker-2", "api"):
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    for name in CHATSTATE:
        s = services[name]
        assert s["read_only"] is True, name
        assert "/tmp" in s["tmpfs"], name  # noqa: S108


def _commands(service: dict[str, Any]) -> list[list[str]]:
    command = service["command"]
    if service.get("entrypoint", ["chatstate"])[0] != "chatstate":  # sh -c "chatstate a && ..."
        script = command[0]
        return [shlex.split(part)[1:] for part in script.split("&&")
                if shlex.split(part)[0] == "chatstate"]
    return [command]


def test_every_command_is_a_real_chatstate_subcommand(compose: dict[str, Any]) -> None:
    runner = CliRunner()
    seen = []
    for name in CHATSTATE:
        for args in _commands(compose["services"][name]):
            result = runner.invoke(cli, [*args, "--help"])
            assert result.exit_code == 0, (name, args, result.output)
            seen.append(args)
    assert ["topics", "apply"] in seen
    assert ["db", "migrate"] in seen


def test_every_environment_variable_is_a_real_setting(compose: dict[str, Any]) -> None:
    known = setting_names()
    for name in CHATSTATE:
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, (name, sorted(unknown))


def test_secrets_come_from_the_env_file_only(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose" / "compose.yaml").read_text()
    example = (DEPLOY / "compose" / "env.example").read_text()
    documented = {line.split("=", 1)[0] for line in example.splitlines()
                  if line and not line.startswith("#")}
    used = set(INTERPOLATION.findall(text))
    assert used <= documented, f"not in env.example: {sorted(used - documented)}"
    assert all(line.endswith("=") for line in example.splitlines()
               if line and not line.startswith("#")), "env.example must hold no values"
    for name in CHATSTATE:
        env = compose["services"][name]["environment"]
        for var in SECRET_ENVS & set(env):
            assert "${" in env[var], (name, var)
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/compose/.env" in ignored


def test_prometheus_scrapes_the_ports_the_processes_serve(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"]
               for job in config["scrape_configs"]}
    s = Settings()
    assert sorted(targets["chatstate-worker"]) == [
        f"worker-1:{s.worker_http_port}", f"worker-2:{s.worker_http_port}"]
    assert targets["chatstate-api"] == [f"api:{s.api_ops_port}"]
    for name in ("worker-1", "worker-2"):
        assert str(s.worker_http_port) in compose["services"][name]["expose"]
        check = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert f"127.0.0.1:{s.worker_http_port}/readyz" in check
    assert f"127.0.0.1:{s.api_port}/readyz" in " ".join(
        compose["services"]["api"]["healthcheck"]["test"])
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "../prometheus/alert-rules.yml:/etc/chatstate/alert-rules.yml:ro" in mounts
    assert config["rule_files"] == ["/prometheus/rules/*.yml"]


def test_grafana_is_provisioned_with_the_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "chatstate.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"../grafana/dashboards:{path}:ro" in grafana["volumes"]
    assert (DEPLOY / "grafana" / "dashboards" / "chatstate.json").exists()


def test_the_image_runs_chatstate_unprivileged_and_writes_only_to_tmp() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2  # multi-stage
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert 'ENTRYPOINT ["chatstate"]' in dockerfile
    assert re.search(r"^USER \$\{UID\}:\$\{UID\}$", dockerfile, re.MULTILINE)
    envs = set(re.findall(r"^\s+(CHATSTATE_[A-Z_]+)=", dockerfile, re.MULTILINE))
    assert envs, "no settings in the Dockerfile?"
    assert not envs - setting_names(), sorted(envs - setting_names())
    for line in re.findall(r"(CHATSTATE_(?:STATE|CACHE)_DIR)=(\S+)", dockerfile):
        assert line[1].startswith("/tmp/"), line  # noqa: S108
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1:] , "everything but the listed sources is ignored"
    for needed in ("!pyproject.toml", "!processor/", "!schemas/", "!topics.yaml"):
        assert needed in ignore
