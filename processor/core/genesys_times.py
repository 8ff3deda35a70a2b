"""Genesys timestamps read by the fast reader: ISO-8601 UTC text, cached, always aware UTC.

Only the forms Genesys writes are parsed here; anything else is :class:`Malformed`, left to the
wire model's parser, whose idea of ISO-8601 differs from ``fromisoformat``'s at the edges (week
dates, commas).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from processor.core.parse_errors import INVALID, Malformed, Reject

__all__ = ["read_time"]

_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
# Genesys re-sends the whole conversation on every change, so the same timestamps recur; parsing
# each once saves a tenth of the budget. Bounded: emptied when full.
_TIMES: dict[str, datetime] = {}
_TIMES_MAX = 8192


def read_time(d: Mapping[str, Any], key: str) -> datetime | None:
    """``d[key]`` as an aware UTC datetime, None when absent; :class:`Malformed` on other forms,
    :class:`Reject` when it is out of UTC's range."""
    v = d.get(key)
    if v is None:
        return None
    if type(v) is str:
        cached = _TIMES.get(v)
        if cached is not None:
            return cached
        if not (len(v) == 24 and v[-1] == "Z" and v[19] == ".") and not _ISO_TIME.fullmatch(v):
            raise Malformed(key)
        if v[4] != "-" or v[7] != "-" or v[10] != "T" or v[13] != ":" or v[16] != ":":
            raise Malformed(key)
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            raise Malformed(key) from None
    elif isinstance(v, datetime):
        t = v
    else:
        raise Malformed(key)
    # Genesys writes UTC with "Z"; a naive time in a hand-made capture is taken as UTC.
    if t.tzinfo is not UTC:
        try:
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:59:59-01:00 is after the last UTC datetime
            raise Reject(INVALID, f"{key} is out of range") from None
    if type(v) is str:
        if len(_TIMES) >= _TIMES_MAX:
            _TIMES.clear()
        _TIMES[v] = t
    return t
