"""FIFO queue ids: whatever Stripe sends, SQS gets a group and deduplication id it accepts."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from inboxfleet.billing.sqs_queue import _FIFO_ID, fifo_id


@given(st.text(max_size=400))
def test_every_value_becomes_an_id_sqs_accepts(value: str) -> None:
    assert _FIFO_ID.fullmatch(fifo_id(value))


@given(st.text(max_size=300), st.text(max_size=300))
def test_different_stripe_ids_never_share_an_id(a: str, b: str) -> None:
    # One customer's group must never merge with another's (nor one event's dedup id). Stripe
    # ids never start like a digest.
    assume(not a.startswith("sha256-") and not b.startswith("sha256-"))
    assert (fifo_id(a) == fifo_id(b)) == (a == b)


@given(st.text(max_size=300))
def test_an_id_read_back_from_sqs_keeps_its_group(value: str) -> None:
    assert fifo_id(fifo_id(value)) == fifo_id(value)


def test_valid_ids_pass_unchanged_and_others_become_a_digest() -> None:
    assert fifo_id("evt_1NG8Du2eZvKYlo2CvBuR2wz8") == "evt_1NG8Du2eZvKYlo2CvBuR2wz8"
    assert len(fifo_id("x" * 129)) == 71
