"""The topic plan: what `topics apply` creates and what it reports as drift."""

from __future__ import annotations

from processor.settings import Settings
from processor.topics import Catalog, ExistingTopic, plan


def catalog(prefix: str = "") -> Catalog:
    return Catalog.load(Settings().topics_file, prefix)


def test_every_declared_topic_is_created_on_an_empty_cluster() -> None:
    c = catalog("x.")
    p = plan(c, {}, brokers=3)
    assert sorted(s.name for s in p.create) == sorted(f"x.{n}" for n in c.topics)
    assert p.clean


def test_replication_is_capped_at_the_broker_count_and_says_so() -> None:
    p = plan(catalog(), {}, brokers=1)
    assert {s.replication_factor for s in p.create} == {1}
    assert {s.config.get("min.insync.replicas") for s in p.create} == {"1"}
    assert any("capped at 1" in n for n in p.notes)


def test_matching_topics_are_in_sync_and_not_recreated() -> None:
    c = catalog()
    existing = {
        s.name: ExistingTopic(s.partitions, {**s.config, "min.insync.replicas": "1"})
        for s in c.topics.values()
    }
    p = plan(c, existing, brokers=1)
    assert p.create == []
    assert p.clean
    assert len(p.in_sync) == len(c.topics)


def test_wrong_partition_count_and_config_are_reported_as_drift() -> None:
    c = catalog()
    existing = {
        s.name: ExistingTopic(s.partitions, {**s.config, "min.insync.replicas": "1"})
        for s in c.topics.values()
    }
    existing["chat.sessions"] = ExistingTopic(2, {"cleanup.policy": "delete"})
    p = plan(c, existing, brokers=1)
    assert not p.clean
    assert any("chat.sessions: partitions 2, declared 6" in d for d in p.drift)
    assert any("chat.sessions: cleanup.policy=delete, declared compact" in d for d in p.drift)
    assert p.create == []


def test_session_keyed_topics_share_one_partition_count() -> None:
    """Every update of one session must land on the same partition number everywhere."""
    c = catalog()
    keyed = [s for s in c.topics.values() if s.key.startswith("persistentSessionId")]
    assert len(keyed) >= 4
    assert len({s.partitions for s in keyed}) == 1
