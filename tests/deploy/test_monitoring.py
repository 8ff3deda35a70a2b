"""The dashboard and the alert rules query only series chatstate serves (the registered names and
one real worker's scrape), each rule links to a runbook section that exists, and the chart's
PrometheusRule is the rules file with the runbook base filled in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import generate_latest

from processor.api.api_metrics import ApiMetrics
from processor.worker.metrics import WorkerMetrics
from tests.conftest import StackSlice
from tests.deploy.conftest import DEPLOY, ROOT, by_kind
from tests.integration.worker.harness import Worker, eventually

RULES = DEPLOY / "prometheus" / "alert-rules.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "chatstate.json"
SERIES = re.compile(r"\b((?:chatstate|process)_[a-z0-9_]+)\b")
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def family(name: str) -> str:
    """``chatstate_batch_seconds_bucket`` -> ``chatstate_batch_seconds`` (the family served)."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def served(text: str) -> set[str]:
    """Family names in Prometheus text (``# TYPE`` lines: present even without samples; a
    counter's may carry ``_total`` depending on the client's text format version)."""
    return {family(line.split()[2]) for line in text.splitlines() if line.startswith("# TYPE ")}


def rule_list() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r for g in groups for r in g["rules"]]


def queried() -> dict[str, set[str]]:
    """Series family -> where it is queried (rule names, panel titles)."""
    out: dict[str, set[str]] = {}
    for rule in rule_list():
        for name in SERIES.findall(rule["expr"]):
            out.setdefault(family(name), set()).add(rule["alert"])
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            for name in SERIES.findall(target["expr"]):
                out.setdefault(family(name), set()).add(panel["title"])
    return out


def _api_text() -> str:
    return generate_latest(ApiMetrics().registry).decode()


def test_every_queried_series_is_registered() -> None:
    registered = served(WorkerMetrics().render().decode()) | served(_api_text())
    missing = {name: where for name, where in queried().items() if name not in registered}
    assert not missing, f"queried but never registered: {missing}"


async def test_every_worker_series_queried_is_in_a_real_workers_scrape(
    env: StackSlice, tmp_path: Path,
) -> None:
    worker = Worker(env, tmp_path / "worker.log", f"deploy-{uuid.uuid4().hex[:6]}").start()
    try:
        async def scrape() -> str | None:
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    r = await http.get(f"{worker.ops_url}/metrics")
            except httpx.TransportError:
                return None
            return r.text if r.status_code == 200 else None

        text = await eventually(scrape, timeout=90, what="/metrics", worker=worker)
    finally:
        worker.stop()
    api_only = served(_api_text())
    wanted = {name for name in queried() if name not in api_only}
    assert wanted, "the dashboard queries no worker series?"
    assert not wanted - served(text), f"not in a real worker's /metrics: {wanted - served(text)}"


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return out


def test_every_rule_links_to_a_runbook_section_that_exists() -> None:
    anchors = _anchors((ROOT / "docs" / "runbook.md").read_text())
    for rule in rule_list():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("__RUNBOOK_BASE_URL__docs/runbook.md#"), rule["alert"]
        assert url.split("#", 1)[1] in anchors, (rule["alert"], url)
        assert rule["labels"]["severity"] in ("warning", "critical")


def test_the_chart_rule_is_the_rules_file_with_the_base_filled_in(
    manifests: list[dict[str, Any]],
) -> None:
    (rule,) = by_kind(manifests, "PrometheusRule")
    base = "https://runbooks.example.com/chatstate/"  # tests/deploy/values.yaml runbookBaseUrl
    expected = yaml.safe_load(RULES.read_text().replace("__RUNBOOK_BASE_URL__", base))
    assert rule["spec"] == expected
    (cm,) = by_kind(manifests, "ConfigMap")
    assert cm["data"]["CHATSTATE_RUNBOOK_BASE_URL"] == base  # the same base for the alerts


def test_promtool_accepts_the_chart_rule(manifests: list[dict[str, Any]], tmp_path: Path) -> None:
    (rule,) = by_kind(manifests, "PrometheusRule")
    path = tmp_path / "rendered-rules.yml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    out = subprocess.run([os.environ["PROMTOOL"], "check", "rules", str(path)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_dashboard_asks_for_its_datasource_and_has_no_fixed_one() -> None:
    dash = json.loads(DASHBOARD.read_text())
    assert [v["name"] for v in dash["templating"]["list"]] == ["datasource"]
    for panel in dash["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", sorted((DEPLOY / "grafana" / "provisioning").rglob("*.yaml")))
def test_grafana_provisioning_files_are_valid_yaml(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert doc["apiVersion"] == 1
