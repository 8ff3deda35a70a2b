"""Every emitted record's id (``schemas.base.new_id``) is a random version-4 UUID like
``uuid.uuid4()``'s, built without ``UUID.__init__`` (issue 14: it was a tenth of routing), and
``to_json_bytes`` writes the same bytes as ``model_dump_json`` did."""

from __future__ import annotations

import copy
import pickle
import uuid
from datetime import UTC, datetime

from schemas.base import new_id
from schemas.commands import CloseSession, SessionUpdate


def test_an_id_is_a_version_4_uuid_equal_to_what_the_public_constructor_builds() -> None:
    for _ in range(200):
        u = new_id()
        public = uuid.UUID(int=u.int)
        assert (u.version, u.variant) == (4, uuid.RFC_4122)
        assert u == public
        assert hash(u) == hash(public)
        assert str(u) == str(public)
        assert uuid.UUID(str(u)) == u
        assert u.bytes == public.bytes
        assert u.is_safe is uuid.SafeUUID.unknown
        assert pickle.loads(pickle.dumps(u)) == u  # noqa: S301 - our own bytes, just written
        assert copy.deepcopy(u) == u


def test_ids_are_unique_and_random_in_every_other_bit() -> None:
    ids = [new_id().int for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    fixed = (0xF000 << 64) | (0xC000 << 48)  # the version and variant bits
    ored, anded = 0, (1 << 128) - 1
    for i in ids:
        ored, anded = ored | i, anded & i
    assert (ored & ~anded) == ((1 << 128) - 1) & ~fixed, "every random bit takes both values"


def test_a_session_update_gets_a_fresh_id_and_writes_the_bytes_model_dump_json_writes() -> None:
    def make() -> SessionUpdate:
        return SessionUpdate(persistent_session_id=uuid.uuid4(), source_id="in:0:1",
                             received_at=datetime(2026, 12, 1, tzinfo=UTC),
                             command=CloseSession(reason="fermé \u2014 \U0001f600 \"q\" \n"))

    a, b = make(), make()
    assert a.id != b.id
    assert a.id.version == 4
    assert a.to_json_bytes() == a.model_dump_json(by_alias=True, exclude_none=False).encode()
    assert SessionUpdate.model_validate_json(a.to_json_bytes()) == a
