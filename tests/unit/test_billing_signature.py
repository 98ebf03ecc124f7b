"""Webhook signature verification, held to Stripe's own signing helper and verifier."""

from __future__ import annotations

import time

import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxfleet.billing.errors import InvalidDelivery
from inboxfleet.billing.signature import verify
from tests.stripe_support import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET, sign

BODY = b'{"id": "evt_1", "object": "event"}'
NOW = 1_800_000_000


def test_a_delivery_signed_by_stripes_helper_verifies() -> None:
    header = sign(BODY.decode(), timestamp=NOW - 10)
    assert verify(BODY, header, lambda: [WEBHOOK_SECRET], NOW) == NOW - 10


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Stripe-Signature header"),
        ("", "missing Stripe-Signature header"),
        ("garbage", "malformed"),
        ("v1=abc", "no timestamp"),
        ("t=12x,v1=abc", "bad timestamp"),
        (f"t={NOW}", "no v1 signature"),
        (f"t={NOW},v0=abc", "no v1 signature"),
    ],
)
def test_missing_or_malformed_headers_are_refused(header: str | None, reason: str) -> None:
    with pytest.raises(InvalidDelivery, match=reason):
        verify(BODY, header, lambda: [WEBHOOK_SECRET], NOW)


def test_a_wrong_secret_is_refused() -> None:
    header = sign(BODY.decode(), secret="whsec_someone_else", timestamp=NOW)
    with pytest.raises(InvalidDelivery, match="no signature matches"):
        verify(BODY, header, lambda: [WEBHOOK_SECRET], NOW)


def test_a_body_altered_by_one_byte_is_refused() -> None:
    header = sign(BODY.decode(), timestamp=NOW)
    altered = BODY.replace(b"evt_1", b"evt_2")
    assert len(altered) == len(BODY)
    with pytest.raises(InvalidDelivery, match="no signature matches"):
        verify(altered, header, lambda: [WEBHOOK_SECRET], NOW)


def test_a_stale_timestamp_is_refused_and_the_edge_is_inside() -> None:
    assert verify(BODY, sign(BODY.decode(), timestamp=NOW - 300), lambda: [WEBHOOK_SECRET], NOW)
    with pytest.raises(InvalidDelivery, match="tolerance"):
        verify(BODY, sign(BODY.decode(), timestamp=NOW - 301), lambda: [WEBHOOK_SECRET], NOW)


def test_future_timestamps_pass_as_in_stripes_sdk() -> None:
    assert verify(BODY, sign(BODY.decode(), timestamp=NOW + 3600), lambda: [WEBHOOK_SECRET], NOW)


def test_any_v1_may_match_and_any_of_the_rotated_secrets() -> None:
    good = sign(BODY.decode(), secret=OLD_WEBHOOK_SECRET, timestamp=NOW)
    signature = good.split("v1=")[1]
    header = f"t={NOW},v1={'0' * 64},v1={signature},v0=ignored"
    assert verify(BODY, header, lambda: [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET], NOW) == NOW
    with pytest.raises(InvalidDelivery):
        verify(BODY, header, lambda: [WEBHOOK_SECRET], NOW)


def test_non_ascii_signatures_are_refused_not_crashed_on() -> None:
    with pytest.raises(InvalidDelivery, match="no signature matches"):
        verify(BODY, f"t={NOW},v1=é", lambda: [WEBHOOK_SECRET], NOW)


def _sdk_accepts(payload: str, header: str, secret: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=300)
    except stripe.SignatureVerificationError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(
    payload=st.text(max_size=200),
    signing_secret=st.sampled_from([WEBHOOK_SECRET, OLD_WEBHOOK_SECRET, "whsec_other"]),
    # Clear of the 300 s edge: the SDK reads the clock a moment after us.
    age=st.integers(min_value=-600, max_value=900).filter(lambda a: abs(a - 300) > 5),
    tamper=st.booleans(),
)
def test_verdicts_agree_with_stripes_sdk(
    payload: str, signing_secret: str, age: int, tamper: bool
) -> None:
    now = int(time.time())
    header = sign(payload, secret=signing_secret, timestamp=now - age)
    received = payload + "x" if tamper else payload
    ours: bool
    try:
        verify(received.encode(), header, lambda: [WEBHOOK_SECRET], now)
        ours = True
    except InvalidDelivery:
        ours = False
    assert ours == _sdk_accepts(received, header, WEBHOOK_SECRET)
