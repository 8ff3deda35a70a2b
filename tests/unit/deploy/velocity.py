"""A tiny renderer for the Velocity subset Genesys data-action request templates use here:
``${input.name}`` and ``$esc.jsonString(${input.name})``. Anything else left in the output is
a ``$`` the test then finds: the template uses something this renderer (and the test) does not
know, so a person must look."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

__all__ = ["render", "variables"]

_ESCAPED = re.compile(r"\$esc\.jsonString\(\$\{input\.(\w+)\}\)")
_PLAIN = re.compile(r"\$\{input\.(\w+)\}")


def variables(template: str) -> set[str]:
    return set(_PLAIN.findall(template))


def render(template: str, values: Mapping[str, object]) -> str:
    out = _ESCAPED.sub(lambda m: json.dumps(str(values[m[1]]))[1:-1], template)
    return _PLAIN.sub(lambda m: str(values[m[1]]), out)
