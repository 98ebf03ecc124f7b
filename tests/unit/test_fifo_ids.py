"""FIFO queue ids: whatever Stripe sends, SQS gets a group and deduplication id it accepts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inboxfleet.billing.sqs_queue import _FIFO_ID, fifo_id


@given(st.text(max_size=400))
def test_every_value_becomes_an_id_sqs_accepts(value: str) -> None:
    assert _FIFO_ID.fullmatch(fifo_id(value))


@given(st.text(max_size=300), st.text(max_size=300))
def test_different_values_never_share_an_id(a: str, b: str) -> None:
    # One customer's group must never merge with another's (nor one event's dedup id).
    assert (fifo_id(a) == fifo_id(b)) == (a == b)


def test_valid_ids_pass_unchanged_and_a_lookalike_of_a_digest_is_hashed_too() -> None:
    assert fifo_id("evt_1NG8Du2eZvKYlo2CvBuR2wz8") == "evt_1NG8Du2eZvKYlo2CvBuR2wz8"
    digest = fifo_id("x" * 129)
    assert len(digest) == 71
    assert fifo_id(digest) != digest
