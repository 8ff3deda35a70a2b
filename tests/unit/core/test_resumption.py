"""What a returning customer is told and when a renewal carries its predecessor
(processor/core/resumption.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from processor.core.resumption import (
    CustomerState,
    carries_predecessor,
    customer_state,
    resume_notice,
)
from tests.unit.core.lifecycle_builders import C1, PSID, T0


def test_the_notice_is_the_seeds_wording() -> None:
    assert resume_notice(C1) == f"Resuming from archived session ID: {C1}"


def test_a_renewal_carries_its_predecessor_until_its_own_first_snapshot() -> None:
    assert carries_predecessor(PSID, None)
    assert not carries_predecessor(PSID, T0)
    assert not carries_predecessor(None, None)


@given(st.booleans(), st.booleans(), st.booleans())
def test_the_customer_state_is_none_unless_a_resumable_session_exists(
    found: bool, resumable: bool, carrying: bool
) -> None:
    state = customer_state(found, resumable, carrying)
    if not (found and resumable):
        assert state is CustomerState.NONE
    else:
        assert state is (CustomerState.RENEWED if carrying else CustomerState.LIVE)
