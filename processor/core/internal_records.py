"""Encoding and decoding the internal topic's records (``schemas.updates``): pure, no I/O.

Writers (stage 1 and the scans) group a batch of updates by destination partition and pack each
partition's updates, in order, into as few records as the size limit allows. Readers (stage 2,
the replay oracle, the tests) get every update back with its place ``(index, count)`` in the
record, so a position can point inside a record and one bad update can be told apart from its
neighbours: :func:`decode` never raises, it marks what it could not read.

Why concatenate the updates' JSON instead of serialising a ``SessionUpdateBatch``: each
update is already a validated model, and its own ``to_json_bytes`` is what a dead letter of it
alone carries; building the envelope by hand costs one ``join``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from processor.core.partitioning import partition_for
from processor.errors import OutputTooLarge
from schemas.commands import SessionUpdate
from schemas.updates import UPDATES_RECORD_VERSION, SessionUpdateBatch

__all__ = ["Decoded", "OutRecord", "decode", "encode", "pack"]

_HEAD = b'{"version":%d,"updates":[' % UPDATES_RECORD_VERSION
_TAIL = b"]}"


@dataclass(frozen=True)
class OutRecord:
    """One record to produce: explicit partition, key (the first update's session) and value."""

    partition: int
    key: bytes
    value: bytes
    updates: tuple[SessionUpdate, ...]


@dataclass(slots=True)
class Decoded:
    """One update of a record, or the reason it could not be read (``update`` is None).

    Slotted and not frozen: stage 2 makes one per update it applies, and a frozen dataclass's
    ``__init__`` (``object.__setattr__`` per field) took 4x as long, with a ``__dict__`` more
    for the collector. Nobody changes one after ``decode`` made it."""

    index: int
    count: int  # updates in the record: the position after the last one is (offset + 1, 0)
    update: SessionUpdate | None
    raw: bytes  # this update's own JSON (the whole record when nothing could be split out)
    error: str = ""

    @property
    def last(self) -> bool:
        return self.index == self.count - 1


def encode(update_json: Sequence[bytes]) -> bytes:
    return _HEAD + b",".join(update_json) + _TAIL


def pack(
    updates: Sequence[SessionUpdate], partitions: int, topic: str, max_bytes: int
) -> list[OutRecord]:
    """Group ``updates`` by the partition their session hashes to, keeping their order, into
    records of at most ``max_bytes``. An update too large for a record of its own raises
    :class:`OutputTooLarge` before anything is produced (the caller's isolation finds it)."""
    by_partition: dict[int, list[tuple[bytes, bytes, SessionUpdate]]] = {}
    # Per session, not per update: its key's text (UUID.__str__ is Python) and its partition.
    cache: dict[uuid.UUID, tuple[bytes, int]] = {}
    for u in updates:
        psid = u.persistent_session_id
        known = cache.get(psid)
        if known is None:
            key = str(psid).encode()
            known = cache[psid] = (key, partition_for(key, partitions))
        key, p = known
        by_partition.setdefault(p, []).append((key, u.to_json_bytes(), u))
    out: list[OutRecord] = []
    room = max_bytes - len(_HEAD) - len(_TAIL) - 36  # the key is a UUID's text
    for p, items in by_partition.items():
        chunk: list[bytes] = []
        held: list[SessionUpdate] = []
        size, first = 0, items[0][0]
        for key, value, u in items:
            if len(value) > room:
                raise OutputTooLarge(topic, len(value) + len(_HEAD) + len(_TAIL), max_bytes)
            if chunk and size + len(value) + 1 > room:
                out.append(OutRecord(p, first, encode(chunk), tuple(held)))
                chunk, held, size, first = [], [], 0, key
            chunk.append(value)
            held.append(u)
            size += len(value) + 1
        out.append(OutRecord(p, first, encode(chunk), tuple(held)))
    return out


def decode(value: bytes) -> list[Decoded]:
    """Every update of one record, in order. Version 2 is a batch; a record without a version
    is version 1 (one bare update, written before the upgrade). Never raises."""
    try:
        batch = SessionUpdateBatch.model_validate_json(value)
    except ValidationError:
        return _decode_slowly(value)
    n = len(batch.updates)
    return [Decoded(i, n, u, b"") for i, u in enumerate(batch.updates)]


def _decode_slowly(value: bytes) -> list[Decoded]:
    """The record failed as a whole: find which updates are bad, one by one."""
    try:
        data = json.loads(value)
    except (ValueError, RecursionError) as exc:
        return [Decoded(0, 1, None, value, type(exc).__name__)]
    if isinstance(data, dict) and "version" not in data and "updates" not in data:
        try:
            return [Decoded(0, 1, SessionUpdate.model_validate(data), b"")]
        except (ValidationError, ValueError, TypeError, RecursionError) as exc:
            return [Decoded(0, 1, None, value, type(exc).__name__)]
    items = data.get("updates") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or data.get("version") != UPDATES_RECORD_VERSION:
        return [Decoded(0, 1, None, value, "unsupported internal record")]
    n = len(items)
    out: list[Decoded] = []
    for i, item in enumerate(items):
        try:
            out.append(Decoded(i, n, SessionUpdate.model_validate(item), b""))
        except (ValidationError, ValueError, TypeError, RecursionError) as exc:
            raw = json.dumps(item, separators=(",", ":")).encode("utf-8", "replace")
            out.append(Decoded(i, n, None, raw, type(exc).__name__))
    return out
