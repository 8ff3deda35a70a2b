"""Topics as code: read ``topics.yaml``, plan what to create and what drifted, apply the plan.

The plan is a pure function of the catalog and what the cluster reports, so it is unit-tested
without a broker; ``apply`` is the thin adapter that asks the cluster and creates topics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator

from processor.errors import ConfigError
from processor.kafka_security import KafkaSecurity, diagnose

_TOPIC_ALREADY_EXISTS = 36

__all__ = ["Catalog", "ExistingTopic", "Plan", "TopicSpec", "apply", "plan"]


class TopicSpec(BaseModel):
    name: str
    partitions: int = Field(ge=1)
    replication_factor: int = Field(default=1, ge=1)
    key: str
    value: str
    internal: bool = False
    config: dict[str, str] = Field(default_factory=dict)

    @field_validator("config", mode="before")
    @classmethod
    def _as_strings(cls, v: dict[str, object] | None) -> dict[str, str]:
        # Kafka topic configs are strings on the wire; YAML may have typed them as numbers.
        return {k: str(x) for k, x in (v or {}).items()}


@dataclass(frozen=True)
class Catalog:
    topics: dict[str, TopicSpec]  # by logical name (as written in topics.yaml)
    prefix: str = ""

    @classmethod
    def load(cls, path: Path, prefix: str = "") -> Catalog:
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read topics file {path}: {exc}") from exc
        topics = {
            logical: TopicSpec(name=prefix + logical, **spec)
            for logical, spec in (raw.get("topics") or {}).items()
        }
        return cls(topics, prefix)

    def name(self, logical: str) -> str:
        """The real topic name for a logical one (``chat.alerts`` -> ``<prefix>chat.alerts``)."""
        try:
            return self.topics[logical].name
        except KeyError:
            raise ConfigError(f"topic {logical!r} is not declared in topics.yaml") from None


@dataclass(frozen=True)
class ExistingTopic:
    partitions: int
    config: Mapping[str, str]


@dataclass
class Plan:
    create: list[TopicSpec] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)  # human-readable, one per difference
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift


def plan(catalog: Catalog, existing: Mapping[str, ExistingTopic], brokers: int) -> Plan:
    """What ``apply`` would do. Drift is reported, never repaired: repairs can lose data
    (fewer partitions) or reorder keys (more partitions), so they are a human's decision."""
    p = Plan()
    for spec in catalog.topics.values():
        rf = min(spec.replication_factor, brokers)
        if rf < spec.replication_factor:
            note = f"replication factor {spec.replication_factor} capped at {brokers} broker(s)"
            if note not in p.notes:
                p.notes.append(note)
        have = existing.get(spec.name)
        if have is None:
            p.create.append(
                spec.model_copy(
                    update={"replication_factor": rf, "config": _capped(spec.config, rf)}
                )
            )
            continue
        diffs = []
        if have.partitions != spec.partitions:
            diffs.append(f"{spec.name}: partitions {have.partitions}, declared {spec.partitions}")
        for key, want in _capped(spec.config, rf).items():
            got = have.config.get(key)
            if got != want:
                diffs.append(f"{spec.name}: {key}={got}, declared {want}")
        if diffs:
            p.drift.extend(diffs)
        else:
            p.in_sync.append(spec.name)
    return p


def _capped(config: Mapping[str, str], rf: int) -> dict[str, str]:
    out = dict(config)
    if "min.insync.replicas" in out and int(out["min.insync.replicas"]) > rf:
        out["min.insync.replicas"] = str(rf)
    return out


async def apply(
    catalog: Catalog, bootstrap: str, security: KafkaSecurity, *, dry_run: bool = False
) -> Plan:
    """Create missing topics; report drift. Idempotent."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from aiokafka.errors import KafkaConnectionError

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **security.client_options()
    )
    try:
        await admin.start()
    except KafkaConnectionError:
        await admin.close()
        # aiokafka's error says only "Unable to bootstrap"; say which setting is wrong.
        raise ConfigError(f"cannot use Kafka: {await diagnose(bootstrap, security)}") from None
    try:
        cluster = await admin.describe_cluster()
        brokers = len(cluster["brokers"])
        names = [s.name for s in catalog.topics.values()]
        present = set(await admin.list_topics()) & set(names)
        existing: dict[str, ExistingTopic] = {}
        if present:
            described = await admin.describe_topics(sorted(present))
            configs = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, n) for n in sorted(present)]
            )
            by_topic: dict[str, dict[str, str]] = {}
            for resp in configs:
                for res in resp.to_object()["resources"]:
                    by_topic[res["resource_name"]] = {
                        e["config_names"]: e["config_value"] for e in res["config_entries"]
                    }
            for d in described:
                existing[d["topic"]] = ExistingTopic(
                    len(d["partitions"]), by_topic.get(d["topic"], {})
                )
        result = plan(catalog, existing, brokers)
        if result.create and not dry_run:
            response = await admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.config)
                    for s in result.create
                ]
            )
            failed = []
            for topic, code, message, *_ in response.topic_errors:
                if code == _TOPIC_ALREADY_EXISTS:
                    # Created by someone else between our look and our create: re-run to check it.
                    result.notes.append(
                        f"{topic} appeared concurrently; run apply again to check it"
                    )
                elif code:
                    failed.append(f"{topic}: error {code} {message or ''}".strip())
            if failed:
                raise ConfigError("creating topics failed: " + "; ".join(failed))
        return result
    finally:
        await admin.close()
