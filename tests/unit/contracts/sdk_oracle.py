"""Payloads built by the official Genesys SDK: its models' setters hold the allowed values and
``attribute_map`` the wire names, and its serialiser writes them as the wire does (camelCase,
ISO-8601 times). A test helper, not a test."""

from __future__ import annotations

import ast
import inspect
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import PureCloudPlatformClientV2 as sdk

_CLIENT = sdk.ApiClient()
T0 = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
_PRIMITIVE = {"str", "int", "bool", "float", "datetime", "date", "object"}


def allowed_values(class_name: str, attr: str) -> list[str]:
    """The enum an SDK setter enforces (empty when the field is free text)."""
    source = inspect.getsource(getattr(getattr(sdk, class_name), attr).fset)
    m = re.search(r"allowed_values = (\[.*?\])", source)
    return list(ast.literal_eval(m.group(1))) if m else []


def build(class_name: str, depth: int = 0, **overrides: Any) -> Any:
    """An SDK model with every field set to a plausible value, then ``overrides``."""
    obj = getattr(sdk, class_name)()
    for attr, typ in obj.swagger_types.items():
        if attr in overrides:
            continue
        value = _value(class_name, attr, typ, depth)
        if value is not None:
            setattr(obj, attr, value)
    for attr, value in overrides.items():
        assert attr in obj.swagger_types, f"{class_name} has no {attr}"
        setattr(obj, attr, value)
    return obj


def _value(class_name: str, attr: str, typ: str, depth: int) -> Any:
    if typ == "str":
        allowed = allowed_values(class_name, attr)
        if allowed:
            return allowed[0]
        return str(uuid.uuid4()) if attr == "id" or attr.endswith("_id") else f"{attr} text"
    if typ == "datetime":
        return T0
    if typ == "int":
        return 1714557600123 if attr.endswith("time") else 3
    if typ == "bool":
        return False
    if typ == "float":
        return 1.5
    if typ.startswith("dict("):
        return {"journeyStage": "checkout"}
    if typ.startswith("list["):
        inner = typ[5:-1]
        if inner in _PRIMITIVE:
            return [_value(class_name, attr, inner, depth)]
        return [build(inner, depth + 1)] if depth < 2 else []
    if typ in _PRIMITIVE:
        return None
    return build(typ, depth + 1) if depth < 2 else None


def wire(obj: Any) -> Any:
    """As the SDK serialises it: wire names, ISO-8601 times."""
    return _CLIENT.sanitize_for_serialization(obj)


def envelope(topic: str, body: Any) -> dict[str, Any]:
    return {
        "topicName": topic,
        "version": "2",
        "eventBody": wire(body),
        "metadata": {"CorrelationId": str(uuid.uuid4())},
    }


def wire_names(class_name: str) -> set[str]:
    return set(getattr(sdk, class_name)().attribute_map.values())
