"""The core decides, the shells do: nothing under ``processor/core`` or ``schemas`` imports a
library that does I/O, so every rule can be tested (and replayed) without a server. A deny list:
the core may gain pure libraries (``phonenumbers``), never a client or a framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
DENIED = ("faust", "mode", "aiokafka", "kafka", "asyncpg", "fastapi", "starlette", "httpx",
          "uvicorn", "websockets", "aiohttp", "requests", "socket", "processor.devstack",
          "processor.worker", "processor.api", "processor.bridge", "processor.cli")
PURE = sorted(
    p.relative_to(ROOT)
    for folder in ("processor/core", "schemas")
    for p in (ROOT / folder).rglob("*.py")
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_pure_modules_are_found() -> None:
    assert len(PURE) > 10  # the guard below would pass vacuously on an empty list


@pytest.mark.parametrize("module", PURE, ids=str)
def test_a_core_or_contract_module_imports_nothing_that_does_io(module: Path) -> None:
    bad = {
        name
        for name in _imports(ROOT / module)
        if any(name == d or name.startswith(d + ".") for d in DENIED)
    }
    assert not bad, f"{module} imports {sorted(bad)}"
