"""The committed JSON Schemas and AsyncAPI document under ``docs/schemas/`` are what the models
and ``topics.yaml`` say today: a contract change shows up in review, never silently."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from processor.topics import Catalog
from schemas.export import ASYNCAPI_FILE, CONTRACTS, render

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "schemas"
REGENERATE = "stale: run `.venv/bin/chatstate schemas export docs/schemas` and commit the result"


def rendered() -> dict[str, str]:
    from processor.cli.schemas_cmd import ASYNCAPI_VERSION

    return render(Catalog.load(ROOT / "topics.yaml").topics, ASYNCAPI_VERSION)


def test_every_committed_schema_file_matches_the_models_and_topics() -> None:
    files = rendered()
    committed = {p.name for p in DOCS.iterdir()}
    assert committed == set(files), REGENERATE
    for name, content in files.items():
        assert (DOCS / name).read_text() == content, f"{name} {REGENERATE}"


def test_there_is_one_schema_per_contract_and_each_is_json_schema() -> None:
    files = rendered()
    for stem in CONTRACTS:
        schema = json.loads(files[f"{stem}.schema.json"])
        assert schema["$schema"].endswith("2020-12/schema")
        assert schema["type"] == "object"
        assert "[" not in schema["title"]


def test_the_asyncapi_document_describes_every_topic_with_its_payload() -> None:
    doc = yaml.safe_load(rendered()[ASYNCAPI_FILE])
    catalog = Catalog.load(ROOT / "topics.yaml")
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == set(catalog.topics)
    messages = doc["components"]["messages"]
    refs = json.dumps(messages)
    for stem in ("genesys-envelope", "snapshot", "session-state", "alert", "session-update-batch"):
        assert f"./{stem}.schema.json" in refs
    for op in doc["operations"].values():
        assert op["action"] in ("send", "receive")
