"""Dead letters as they go onto ``chat.dlq``: redacted, sized to fit, the original encrypted.

Why this module exists: ``chat.dlq`` keeps thirty days of the records chatstate could not
process, and a record is often dead-lettered *because* it carried PII. So the key, every header
and the value are redacted by the PII guard (``redact_bytes``: byte for byte when it finds
nothing), the finding paths and kinds are recorded, and the untouched original only travels
encrypted (Fernet, ``CHATSTATE_DLQ_ENCRYPTION_KEY``) for ``chatstate dlq replay``. A dead letter
that is itself too large for the broker would make the producer retry forever, so
:func:`build_dead_letter` always returns a record under ``max_bytes``: it drops the encrypted
original first, then truncates the value (then the key and the original headers), and says what
it cut in ``chatstate-truncated``.

Everything here is pure but for Fernet's random IV and timestamp; the tools that read, show and
replay dead letters live in ``processor/cli/dlq_cmd.py``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka.record.default_records import DefaultRecordBatchBuilder
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from processor.core.pii import DEFAULT_REGION, Finding, redact_bytes, redact_text
from processor.errors import ChatstateError, ConfigError
from schemas.dlq import HEADER_PREFIX, DeadLetterInfo, DeadLetterReason

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MIN_MAX_BYTES",
    "ORIGINAL_HEADER",
    "REPLAY_OF_HEADER",
    "TRUNCATED_HEADER",
    "DeadLetter",
    "DeadLetterError",
    "Original",
    "build_dead_letter",
    "cipher",
    "decrypt_original",
    "new_key",
    "record_size",
    "runbook_anchor",
    "split_headers",
]

ORIGINAL_HEADER = HEADER_PREFIX + "original"  # Fernet token of the untouched key/headers/value
TRUNCATED_HEADER = HEADER_PREFIX + "truncated"  # what was cut to fit, e.g. "original,value=10/99"
REPLAY_OF_HEADER = HEADER_PREFIX + "replay-of"  # on a replayed record: "<dlq topic>:<p>:<o>"
_FIRST_OWN_HEADER = HEADER_PREFIX + "source-topic"  # DeadLetterInfo.headers() starts with it
# chatstate's own headers are bounded (detail 500 chars, findings 1000, a topic name): a cap
# below this could not hold them, and is a configuration mistake rather than a record's fault.
MIN_MAX_BYTES = 16 * 1024
# aiokafka's max_request_size and the broker's message.max.bytes default to 1 MiB; the margin
# covers what the estimate does not (a batch of several records, a broker set a little lower).
DEFAULT_MAX_BYTES = 1024 * 1024 - 64 * 1024
_KEY_KEEP = 1024  # a key cut to fit keeps this much: enough to tell which session it was


class DeadLetterError(ChatstateError):
    """A dead letter cannot be read as asked (no encrypted original, the wrong key)."""


@dataclass(frozen=True)
class DeadLetter:
    """A record ready to produce to ``chat.dlq``."""

    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def size(self) -> int:
        return record_size(self.key, self.value, self.headers)


@dataclass(frozen=True)
class Original:
    """The record as its producer wrote it (decrypted from ``chatstate-original``)."""

    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    value: bytes


class HasHeaders(Protocol):
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def record_size(key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]) -> int:
    """Upper bound of the record's size on the wire, as aiokafka checks it against its limit."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, list(headers)))


def runbook_anchor(reason: DeadLetterReason) -> str:
    """The ``docs/runbook.md`` anchor of a reason's section (alerts and ``dlq show`` link it)."""
    return "dead-letter-" + reason.value.replace("_", "-")


def new_key() -> str:
    """A fresh Fernet key for ``CHATSTATE_DLQ_ENCRYPTION_KEY``."""
    return Fernet.generate_key().decode()


@functools.lru_cache(maxsize=8)
def cipher(encryption_key: str) -> MultiFernet:
    """The cipher for a configured key: one Fernet key, or several separated by commas (the
    first encrypts, every one decrypts: rotate by prepending a new key, drop the old one once
    its dead letters have aged out of retention)."""
    keys = [k.strip() for k in encryption_key.split(",") if k.strip()]
    try:
        if not keys:
            raise ValueError("empty")
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise ConfigError(
            "CHATSTATE_DLQ_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded "
            "bytes) or several separated by commas; `chatstate dlq new-key` prints one"
        ) from None


# --- the encrypted original ----------------------------------------------------------------
_U32 = struct.Struct(">I")
_MAGIC = b"CSO1"  # chatstate original, format 1


def _pack(key: bytes | None, headers: Sequence[tuple[str, bytes]], value: bytes) -> bytes:
    parts = [_MAGIC, b"\x01" if key is not None else b"\x00"]
    if key is not None:
        parts += [_U32.pack(len(key)), key]
    parts.append(_U32.pack(len(headers)))
    for name, hv in headers:
        encoded = name.encode("utf-8", errors="surrogateescape")
        parts += [_U32.pack(len(encoded)), encoded, _U32.pack(len(hv)), hv]
    parts += [_U32.pack(len(value)), value]
    return b"".join(parts)


def _unpack(blob: bytes) -> Original:
    if not blob.startswith(_MAGIC):
        raise DeadLetterError("the encrypted original is not in a format this build knows")
    pos = len(_MAGIC)

    def take() -> bytes:
        nonlocal pos
        (n,) = _U32.unpack_from(blob, pos)
        pos += 4 + n
        return blob[pos - n : pos]

    has_key = blob[pos] == 1
    pos += 1
    key = take() if has_key else None
    (count,) = _U32.unpack_from(blob, pos)
    pos += 4
    headers = tuple(
        (take().decode("utf-8", errors="surrogateescape"), take()) for _ in range(count)
    )
    return Original(key, headers, take())


def decrypt_original(dead: HasHeaders, encryption_key: str) -> Original:
    """The untouched original of a consumed dead letter (an aiokafka ``ConsumerRecord``)."""
    tokens = [v for k, v in dead.headers if k == ORIGINAL_HEADER]
    if not tokens:
        raise DeadLetterError("this dead letter carries no encrypted original")
    try:
        return _unpack(cipher(encryption_key).decrypt(tokens[-1]))
    except InvalidToken:
        raise DeadLetterError(
            "the encrypted original does not open with CHATSTATE_DLQ_ENCRYPTION_KEY (a rotated "
            "key? list the old one after the new, separated by a comma)"
        ) from None


def split_headers(
    headers: Sequence[tuple[str, bytes]],
) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """A dead letter's headers as (the original's, redacted; chatstate's own). The original's
    come first; chatstate's start at the last ``chatstate-source-topic``."""
    names = [k for k, _ in headers]
    if _FIRST_OWN_HEADER not in names:
        return list(headers), []
    cut = len(names) - 1 - names[::-1].index(_FIRST_OWN_HEADER)
    return list(headers[:cut]), list(headers[cut:])


# --- building a dead letter ------------------------------------------------------------------
def _redact_headers(
    headers: Sequence[tuple[str, bytes]], region: str
) -> tuple[list[tuple[str, bytes]], list[str]]:
    out: list[tuple[str, bytes]] = []
    where: list[str] = []
    for name, hv in headers:
        safe_name, kinds = redact_text(name, region=region)
        where += [f"headers[{safe_name}]:{k.value}" for k in kinds]
        safe_value, found = redact_bytes(hv, region=region)
        where += [f"headers[{safe_name}]{f.path}:{f.kind.value}" for f in found]
        out.append((safe_name, safe_value))
    return out, where


def _paths(prefix: str, found: list[Finding]) -> list[str]:
    return [f"{prefix}{f.path}:{f.kind.value}" for f in found]


def build_dead_letter(
    key: bytes | None,
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
    info: DeadLetterInfo,
    *,
    encryption_key: str | None,
    max_bytes: int,
    region: str = DEFAULT_REGION,
) -> DeadLetter:
    """The dead letter for one record: redacted key, headers and value (the very same bytes
    when the guard found nothing), the original's headers first and then ``info.headers()``
    with ``redacted``/``findings`` filled in (paths and kinds, never values), the original
    encrypted when a key is configured, and never over ``max_bytes``. Raises only on a
    ``max_bytes`` below :data:`MIN_MAX_BYTES` or an invalid key (both configuration)."""
    if max_bytes < MIN_MAX_BYTES:
        raise ValueError(f"max_bytes must be at least {MIN_MAX_BYTES}")
    safe_key, key_found = redact_bytes(key, region=region) if key is not None else (None, [])
    safe_value, value_found = redact_bytes(value, region=region)
    safe_headers, header_where = _redact_headers(headers, region)
    mine = _paths("key", key_found) + header_where + _paths("", value_found)
    info = info.model_copy(
        update={
            "redacted": info.redacted or bool(mine),
            "findings": ",".join(([info.findings] if info.findings else []) + mine),
            # A detail must never quote values; should one slip through, the guard still
            # catches the PII in it.
            "detail": redact_text(info.detail)[0],
        }
    )
    own = info.headers()
    token = cipher(encryption_key).encrypt(_pack(key, headers, value)) if encryption_key else None
    if token is not None:
        whole = DeadLetter(safe_key, safe_value, (*safe_headers, *own, (ORIGINAL_HEADER, token)))
        if whole.size <= max_bytes:
            return whole
    cut = ["original"] if token is not None else []
    plain = DeadLetter(safe_key, safe_value, (*safe_headers, *own))
    if plain.size <= max_bytes and not cut:
        return plain
    fitted = _fit(safe_key, safe_value, safe_headers, own, cut, max_bytes)
    if fitted is not None:
        return fitted
    # The original's headers or key alone are too large: keep chatstate's headers and a
    # prefix of the key, which always fit above MIN_MAX_BYTES.
    short_key = safe_key[:_KEY_KEEP] if safe_key is not None else None
    cut += ["headers"] + (["key"] if short_key != safe_key else [])
    fitted = _fit(short_key, safe_value, [], own, cut, max_bytes)
    assert fitted is not None  # MIN_MAX_BYTES leaves room for the rest
    return fitted


def _fit(
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]],
    own: list[tuple[str, bytes]],
    cut: list[str],
    max_bytes: int,
) -> DeadLetter | None:
    """The record with as much of the value as fits and a ``chatstate-truncated`` header, or
    None when it cannot fit even with an empty value."""
    total = len(value)

    def make(kept: int) -> DeadLetter:
        said = cut + ([f"value={kept}/{total}"] if kept < total else [])
        return DeadLetter(
            key, value[:kept], (*headers, *own, (TRUNCATED_HEADER, ",".join(said).encode()))
        )

    whole = make(total)
    if whole.size <= max_bytes:
        return whole
    # A size estimate with a placeholder as long as any real "value=kept/total" note, and an
    # empty value: the value may take what is left (minus its length's varint, at most 5).
    room = max_bytes - make(0).size - len(str(total)) - 5
    if room < 0:
        return None
    fitted = make(min(room, total))
    return fitted if fitted.size <= max_bytes else None
