"""The deploy artefacts' tests run under ``make lint-deploy``, which builds helm and promtool
(pinned, from the Go module proxy, cached) and renders the chart first; it names the rendering
and the binaries in CHATSTATE_DEPLOY_RENDERED, HELM and PROMTOOL.

Under a plain ``pytest tests`` (``make test``) this directory is not collected, and the session
header says so: these tests need the binaries, and ``.ci/run`` runs ``make lint-deploy`` after
``make test``. They are never skipped one by one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
RENDERED = os.environ.get("CHATSTATE_DEPLOY_RENDERED", "")

if not RENDERED:
    collect_ignore_glob = ["test_*.py"]


def pytest_report_header() -> str:
    if RENDERED:
        return f"tests/deploy: checking the chart rendered in {RENDERED}"
    return "tests/deploy: not collected here; `make lint-deploy` runs them (needs helm, promtool)"


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="session")
def manifests() -> list[dict[str, Any]]:
    docs = load_all(Path(RENDERED))
    assert docs, f"nothing rendered in {RENDERED}"
    return docs


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())  # merge keys too
    assert isinstance(doc, dict)
    return doc


def containers(manifests: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, container) for every container and init container in the rendering."""
    out = []
    for doc in manifests:
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        if spec is None:
            continue
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            out.append((f"{doc['kind']}/{doc['metadata']['name']}", c))
    return out


def by_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in manifests if d.get("kind") == kind]
