"""What a tenant's account lets it ask for (inboxfleet.api.admission), and the mailbox addresses
it may ask for (names.mailbox_address): pure rules, every branch."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from inboxfleet.api.admission import MAX_AWAITING_PAYMENT, Occupancy, admit, admit_retry
from inboxfleet.api.errors import LimitReached, PaymentRequired
from inboxfleet.lifecycles import InboxStatus, PaymentState, SubscriptionStatus
from inboxfleet.names import mailbox_address
from inboxfleet.records import BillingAccount

_S = SubscriptionStatus


def account(
    status: SubscriptionStatus | None,
    payment: PaymentState = PaymentState.OK,
    max_inboxes: int = 5,
) -> BillingAccount:
    return BillingAccount(
        tenant_id=uuid4(),
        stripe_customer_id="cus_1" if status else None,
        stripe_subscription_id="sub_1" if status else None,
        subscription_status=status,
        plan="starter" if status else None,
        quantity=1,
        max_inboxes=max_inboxes,
        max_domains=3,
        allowed_locations=[],
        current_period_end=None,
        payment_state=payment,
        updated_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("status", [None, _S.INCOMPLETE, _S.INCOMPLETE_EXPIRED])
def test_never_paid_requests_wait_for_payment_up_to_a_bound(status: SubscriptionStatus) -> None:
    never_paid = account(status, max_inboxes=0)
    assert admit(never_paid, Occupancy(0, 0), 100) == InboxStatus.AWAITING_PAYMENT
    full = Occupancy(in_use=0, awaiting_payment=MAX_AWAITING_PAYMENT - 1)
    assert admit(never_paid, full, 1) == InboxStatus.AWAITING_PAYMENT
    with pytest.raises(LimitReached) as refused:
        admit(never_paid, full, 2)
    assert refused.value.field == "max_awaiting_payment"


@pytest.mark.parametrize("status", [_S.UNPAID, _S.CANCELED, _S.PAUSED])
def test_a_suspended_account_is_refused_with_402(status: SubscriptionStatus) -> None:
    suspended = account(status, PaymentState.SUSPENDED, max_inboxes=0)
    with pytest.raises(PaymentRequired) as refused:
        admit(suspended, Occupancy(0, 0), 1)
    assert status.value in refused.value.message
    with pytest.raises(PaymentRequired):
        admit_retry(suspended, Occupancy(0, 0))


@pytest.mark.parametrize(
    ("status", "payment"),
    [
        (_S.ACTIVE, PaymentState.OK),
        (_S.TRIALING, PaymentState.OK),
        (_S.PAST_DUE, PaymentState.PAST_DUE),  # the grace period: still entitled
    ],
)
def test_an_entitled_account_queues_within_its_plan(
    status: SubscriptionStatus, payment: PaymentState
) -> None:
    entitled = account(status, payment, max_inboxes=5)
    assert admit(entitled, Occupancy(in_use=3, awaiting_payment=9), 2) == InboxStatus.QUEUED
    with pytest.raises(LimitReached) as refused:
        admit(entitled, Occupancy(in_use=3, awaiting_payment=0), 3)
    assert refused.value.field == "max_inboxes"
    assert "allows 5 inboxes; 3 in use, 3 requested" in refused.value.message
    admit_retry(entitled, Occupancy(in_use=4, awaiting_payment=0))
    with pytest.raises(LimitReached):
        admit_retry(entitled, Occupancy(in_use=5, awaiting_payment=0))


def test_a_retry_needs_a_subscription() -> None:
    with pytest.raises(PaymentRequired) as refused:
        admit_retry(account(None), Occupancy(0, 0))
    assert "/v1/billing/checkout" in refused.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sales@Example.COM", "sales@example.com"),
        (" first.last@example.com ", "first.last@example.com"),
        ("a_b-c@bücher.example", "a_b-c@xn--bcher-kva.example"),
        (f"{'x' * 64}@example.com", f"{'x' * 64}@example.com"),
        ("a@example.com.", "a@example.com"),  # the root's dot, as DNS writes names
    ],
)
def test_mailbox_addresses_come_out_plain_and_lower_case(raw: str, expected: str) -> None:
    assert mailbox_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "a+tag@example.com",  # Mailu's recipient delimiter: an alias, not a mailbox
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        f"{'x' * 65}@example.com",
        "a b@example.com",
        "a'b@example.com",
        'a"b@example.com',
        "a`id`@example.com",
        "a$b@example.com",
        "a;b@example.com",
        "a|b@example.com",
        "a\\b@example.com",
        "a,b@example.com",
        "a\x00b@example.com",
        "a\r\nb@example.com",
        "a@b@example.com",
        "a@example..com",
        "a@*.example.com",
        "a@-example.com",
        "a@exa mple.com",
        "a@example.com\u200b",
        "@example.com",
        "a@",
        "example.com",
    ],
)
def test_anything_a_shell_dns_or_csv_could_read_as_syntax_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="mailbox address"):
        mailbox_address(raw)
