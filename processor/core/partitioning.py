"""Which partition of the internal topic a session's updates go to, computed the way Kafka's
default partitioner does (murmur2 of the key, sign bit cleared, modulo the partition count), so
a batch produced with an explicit partition lands exactly where a keyed record of the same
session would: the stage-2 agent owning that partition sees every update of the session, in
order, whichever way it was produced (the scans, older workers, ``chatstate`` tools).

Pure: no Kafka client here; ``tests/unit/worker/test_partitioning.py`` checks the hash against
aiokafka's own ``murmur2``."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["murmur2", "partition_for"]

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (seed 0x9747b28c) as an unsigned 32-bit int, like aiokafka's (the Java
    client's is the same bits, signed; the partition only uses the low 31)."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    tail = length & ~3
    for i in range(0, tail, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


@lru_cache(maxsize=16_384)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` (positive murmur2).

    Remembered for the most recent sessions (~2 MB at most): a session's updates keep coming
    batch after batch, and murmur2 in Python is ~8 us a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
