"""Kafka's default partitioner, computed without a client (processor/core/partitioning.py): the
hash is the Java client's (vectors from Kafka's own ``UtilsTest.testMurmur2``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.core.partitioning import murmur2, partition_for


@pytest.mark.parametrize(
    ("key", "java"),
    [
        ("21", -973932308),
        ("foobar", -790332482),
        ("a-little-bit-long-string", -985981536),
        ("a-little-bit-longer-string", -1486304829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        ("abc", 479470107),
    ],
)
def test_murmur2_gives_the_java_clients_bits(key: str, java: int) -> None:
    assert murmur2(key.encode()) == java & 0xFFFFFFFF


@given(st.binary(max_size=64), st.integers(min_value=1, max_value=1000))
def test_the_partition_is_the_positive_hash_modulo_the_count(key: bytes, partitions: int) -> None:
    p = partition_for(key, partitions)
    assert 0 <= p < partitions
    assert p == (murmur2(key) & 0x7FFFFFFF) % partitions
