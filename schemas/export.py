"""JSON Schema for every contract, and an AsyncAPI 3.0 document of the topics that carry them.

Consumers (the bridge, the web back end, Architect data actions, reporting) validate against
these files instead of reading our Python. They are generated, committed under
``docs/schemas/``, and a unit test fails when they drift from the models, so a contract change
is always visible in review. ``chatstate schemas export DIR`` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel

from schemas.alerts import Alert
from schemas.commands import SessionCommand, SessionUpdate
from schemas.dlq import DeadLetterInfo
from schemas.genesys import (
    ConversationEventBody,
    DetailEvent,
    EventBridgeEnvelope,
    MediaConversationEventBody,
    NotificationEnvelope,
)
from schemas.observation import ConversationObservation
from schemas.session import SessionState
from schemas.snapshot import SnapshotIn
from schemas.updates import SessionUpdateBatch

__all__ = ["ASYNCAPI_FILE", "CONTRACTS", "TopicLike", "render", "write"]

Mode = Literal["validation", "serialization"]

# file stem -> (model, mode). Inbound contracts are described as we *accept* them
# (validation), the records chatstate emits as it *writes* them (serialization).
CONTRACTS: dict[str, tuple[type[BaseModel], Mode]] = {
    "genesys-envelope": (NotificationEnvelope, "validation"),
    "genesys-eventbridge-envelope": (EventBridgeEnvelope, "validation"),
    "genesys-conversation-body": (ConversationEventBody, "validation"),
    "genesys-media-conversation-body": (MediaConversationEventBody, "validation"),
    "genesys-detail-event": (DetailEvent, "validation"),
    "snapshot": (SnapshotIn, "validation"),
    "observation": (ConversationObservation, "serialization"),
    "session-state": (SessionState, "serialization"),
    "session-command": (SessionCommand, "serialization"),
    "session-update": (SessionUpdate, "serialization"),
    "session-update-batch": (SessionUpdateBatch, "serialization"),
    "alert": (Alert, "serialization"),
    "dead-letter-info": (DeadLetterInfo, "serialization"),
}
ASYNCAPI_FILE = "asyncapi.yaml"

# What each logical topic of topics.yaml carries, and whether chatstate reads or writes it.
_PAYLOADS: dict[str, tuple[list[str], list[Literal["receive", "send"]]]] = {
    "genesys.conversations": (["genesys-envelope", "genesys-eventbridge-envelope"], ["receive"]),
    "chat.snapshots": (["snapshot"], ["receive", "send"]),
    "chat.session-commands": (["session-command"], ["receive", "send"]),
    "chatstate.session-updates": (["session-update-batch"], ["receive", "send"]),
    "chat.sessions": (["session-state"], ["send"]),
    "chat.alerts": (["alert"], ["send"]),
    "chat.dlq": ([], ["send"]),
}


class TopicLike(Protocol):
    """What the AsyncAPI document needs of a topic (``processor.topics.TopicSpec`` has it)."""

    @property
    def partitions(self) -> int: ...
    @property
    def replication_factor(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def config(self) -> Mapping[str, str]: ...


def _schema(stem: str, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, mode=mode)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{stem}.schema.json",
        **schema,
        "title": schema.get("title", model.__name__).split("[")[0],
    }


def _camel(logical: str) -> str:
    parts = logical.replace("-", ".").split(".")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _dlq_headers() -> dict[str, Any]:
    sample = DeadLetterInfo(
        source_topic="t", source_partition=0, source_offset=0, stage="normalise",
        reason="parser_error",
        failed_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    return {
        "type": "object",
        "description": "Kafka headers (UTF-8 strings); see dead-letter-info.schema.json",
        "properties": {name: {"type": "string"} for name, _ in sample.headers()},
    }


def asyncapi(topics: Mapping[str, TopicLike], version: str) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for logical, spec in topics.items():
        cid = _camel(logical)
        payloads, actions = _PAYLOADS.get(logical, ([], ["receive"]))
        message: dict[str, Any] = {
            "name": cid,
            "contentType": "application/json",
            "summary": spec.value,
            "bindings": {"kafka": {"key": {"type": "string", "description": spec.key},
                                   "bindingVersion": "0.5.0"}},
        }
        if len(payloads) == 1:
            message["payload"] = {"$ref": f"./{payloads[0]}.schema.json"}
        elif payloads:
            message["payload"] = {"oneOf": [{"$ref": f"./{p}.schema.json"} for p in payloads]}
        else:  # the dead-letter topic keeps the original bytes: any payload, described by headers
            message["contentType"] = "application/octet-stream"
            message["headers"] = _dlq_headers()
        messages[cid] = message
        config: dict[str, Any] = {k: int(v) if v.isdigit() else v for k, v in spec.config.items()}
        if "cleanup.policy" in config:
            config["cleanup.policy"] = str(config["cleanup.policy"]).split(",")
        channels[cid] = {
            "address": logical,
            "description": spec.value,
            "messages": {cid: {"$ref": f"#/components/messages/{cid}"}},
            "bindings": {"kafka": {
                "topic": logical, "partitions": spec.partitions,
                "replicas": spec.replication_factor,
                "topicConfiguration": {k: v for k, v in config.items()
                                       if k in ("cleanup.policy", "retention.ms")},
                "bindingVersion": "0.5.0",
            }},
        }
        for action in actions:
            verb = "consume" if action == "receive" else "produce"
            operations[f"{verb}{cid[:1].upper()}{cid[1:]}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [{"$ref": f"#/channels/{cid}/messages/{cid}"}],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "chatstate",
            "version": version,
            "description": "Topics chatstate reads and writes (from topics.yaml). Keys and values "
                           "are contracts: changing one is a versioned change (CHANGELOG.md).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render(topics: Mapping[str, TopicLike], version: str = "1") -> dict[str, str]:
    """File name -> content: deterministic, so a diff means a contract changed."""
    files = {
        f"{stem}.schema.json": json.dumps(_schema(stem, model, mode), indent=2) + "\n"
        for stem, (model, mode) in CONTRACTS.items()
    }
    files[ASYNCAPI_FILE] = yaml.safe_dump(
        asyncapi(topics, version), sort_keys=False, width=100, allow_unicode=True
    )
    return files


def write(directory: Path, topics: Mapping[str, TopicLike], version: str = "1") -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in render(topics, version).items():
        path = directory / name
        path.write_text(content)
        written.append(path)
    return written
