"""The committed ``docs/openapi.json`` is the document the API serves (no I/O needed)."""

from __future__ import annotations

import json

from processor.api.app import openapi_document
from processor.settings import Settings, project_root


def test_the_committed_openapi_document_is_current() -> None:
    committed = json.loads((project_root() / "docs" / "openapi.json").read_text())
    assert committed == openapi_document(Settings()), (
        "docs/openapi.json is stale: run `chatstate api openapi > docs/openapi.json`"
    )
