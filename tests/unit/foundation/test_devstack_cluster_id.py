"""The dev stack's KRaft cluster id is always one the storage tool accepts."""

from __future__ import annotations

import base64

from processor.devstack.kafka import cluster_id


def test_a_cluster_id_never_starts_with_a_dash_and_is_16_bytes() -> None:
    for _ in range(5_000):  # a leading "-" came up 1 time in 64 before
        found = cluster_id()
        assert not found.startswith("-")
        assert len(base64.urlsafe_b64decode(found + "==")) == 16
