"""Billing's pure parts: reading Stripe payloads of both shapes, watermark verdicts, the
entitlement a tenant's subscriptions and invoices add up to, the inbox policy, the catalogue
and the reminder email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from inboxfleet.billing.errors import InvalidEventMessage, UnknownPlan
from inboxfleet.billing.inbox_policy import due_for_suspension, plan_inboxes
from inboxfleet.billing.plans import Catalogue, Plan, default_catalogue
from inboxfleet.billing.reminders import format_amount, payment_failed_email
from inboxfleet.billing.state import Verdict, derive_entitlement, judge
from inboxfleet.billing.stripe_objects import (
    StripeInvoice,
    StripeSubscription,
    parse_event,
    parse_object,
)
from inboxfleet.entitlement import Entitlement
from inboxfleet.lifecycles import InboxStatus, PaymentState
from inboxfleet.records import Inbox, Watermark
from tests.factories import invoice_snapshot, subscription_snapshot
from tests.stripe_support import PERIOD_END, Customer

CATALOGUE = default_catalogue()
RETENTION = timedelta(days=30)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


# -- payload shapes --


@pytest.mark.parametrize("legacy", [False, True])
def test_subscriptions_of_both_shapes_read_the_same(legacy: bool) -> None:
    customer = Customer(tenant_id=str(uuid4()), legacy=legacy)
    obj = parse_object("customer.subscription.updated", customer.subscription(quantity=3))
    assert isinstance(obj, StripeSubscription)
    snap = obj.snapshot()
    assert snap.current_period_end == datetime.fromtimestamp(PERIOD_END, UTC)
    assert [(i.lookup_key, i.quantity) for i in snap.items] == [("growth_monthly", 3)]
    assert obj.tenant_hint == customer.tenant_id
    assert obj.complete


@pytest.mark.parametrize("legacy", [False, True])
def test_invoices_of_both_shapes_name_their_subscription_and_tenant(legacy: bool) -> None:
    customer = Customer(tenant_id=str(uuid4()), legacy=legacy)
    obj = parse_object("invoice.payment_failed", customer.invoice("in_1", attempt_count=2))
    assert isinstance(obj, StripeInvoice)
    assert obj.subscription_id == customer.subscription_id
    assert obj.tenant_hint == customer.tenant_id
    assert obj.snapshot().outstanding


def test_an_expanded_customer_reads_as_its_id() -> None:
    customer = Customer(tenant_id=None)
    payload = customer.subscription()
    payload["customer"] = {"id": customer.customer_id, "object": "customer"}
    event = parse_event(customer.event("customer.subscription.created", payload, 1))
    assert event.customer_id == customer.customer_id


def test_a_subscription_that_lists_only_part_of_its_items_is_incomplete() -> None:
    customer = Customer(tenant_id=None)
    payload = customer.subscription()
    payload["items"]["has_more"] = True
    assert not StripeSubscription.model_validate(payload).complete
    assert not StripeSubscription.model_validate(customer.subscription(plan=None)).complete


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'{"id": "evt_1"}',
        b'{"id": "not-an-event", "object": "event", "type": "x.y", "created": 1, '
        b'"data": {"object": {}}}',
        b'{"id": "evt_1", "object": "charge", "type": "x.y", "created": 1, "data": {"object": {}}}',
    ],
)
def test_what_is_not_an_event_is_refused_without_echoing_it(payload: bytes) -> None:
    with pytest.raises(InvalidEventMessage, match="not a Stripe event") as info:
        parse_event(payload)
    assert "not-an-event" not in str(info.value)


def test_an_unreadable_object_of_a_handled_type_is_a_poison_message() -> None:
    with pytest.raises(InvalidEventMessage, match="StripeInvoice"):
        parse_object("invoice.paid", {"object": "invoice", "id": "in_1"})


# -- watermarks --


def _mark(seconds: int, event_id: str) -> Watermark:
    return Watermark(event_created=T0 + timedelta(seconds=seconds), event_id=event_id)


def test_watermark_verdicts() -> None:
    held = subscription_snapshot("sub_1")
    other = subscription_snapshot("sub_1", status="past_due")
    stored = (_mark(10, "evt_a"), held)
    assert judge(None, _mark(1, "evt_x"), held) == Verdict.APPLY
    assert judge(stored, _mark(10, "evt_a"), other) == Verdict.SAME  # a redelivery
    assert judge(stored, _mark(11, "evt_b"), other) == Verdict.APPLY
    assert judge(stored, _mark(9, "evt_b"), other) == Verdict.STALE
    assert judge(stored, _mark(10, "evt_b"), held) == Verdict.SAME  # a twin saying the same
    assert judge(stored, _mark(10, "evt_b"), other) == Verdict.REFETCH


# -- entitlement --


def test_an_active_subscription_entitles_with_limits_times_quantity() -> None:
    sub = subscription_snapshot(
        "sub_1", items=[{"lookup_key": "inbox_seat_monthly", "quantity": 7}]
    )
    ent = derive_entitlement([sub], [], CATALOGUE, RETENTION)
    assert ent.entitled
    assert ent.payment_state == PaymentState.OK
    assert (ent.limits.max_inboxes, ent.limits.max_domains, ent.quantity) == (7, 7, 7)
    assert ent.plan == "inbox_seat_monthly"


def test_a_failed_invoice_makes_the_account_past_due_and_its_payment_clears_it() -> None:
    sub = subscription_snapshot("sub_1")
    failed = invoice_snapshot("in_1", subscription_id="sub_1", status="open", attempt_count=1)
    ent = derive_entitlement([sub], [failed], CATALOGUE, RETENTION)
    assert (ent.entitled, ent.payment_state) == (True, PaymentState.PAST_DUE)
    paid = failed.model_copy(update={"status": "paid"})
    assert derive_entitlement([sub], [paid], CATALOGUE, RETENTION).payment_state == "ok"


def test_a_canceled_subscription_suspends_and_schedules_teardown() -> None:
    ended = T0 + timedelta(days=3)
    sub = subscription_snapshot(
        "sub_1", status="canceled", ended_at=ended, cancellation_reason="payment_failed"
    )
    ent = derive_entitlement([sub], [], CATALOGUE, RETENTION)
    assert not ent.entitled
    assert ent.payment_state == PaymentState.SUSPENDED
    assert ent.suspension_reason == "non_payment"
    assert ent.teardown_after == ended + RETENTION
    assert ent.limits.max_inboxes == 0
    requested = subscription_snapshot(
        "sub_1", status="canceled", ended_at=ended, cancellation_reason="cancellation_requested"
    )
    assert derive_entitlement([requested], [], CATALOGUE, RETENTION).suspension_reason == "canceled"


def test_unpaid_is_suspended_until_its_latest_invoice_is_paid() -> None:
    sub = subscription_snapshot("sub_1", status="unpaid")
    open_invoice = invoice_snapshot("in_2", subscription_id="sub_1", status="open")
    ent = derive_entitlement([sub], [open_invoice], CATALOGUE, RETENTION)
    assert (ent.entitled, ent.suspension_reason) == (False, "non_payment")
    paid = open_invoice.model_copy(update={"status": "paid"})
    assert derive_entitlement([sub], [paid], CATALOGUE, RETENTION).entitled


def test_a_live_subscription_governs_over_a_newer_ended_one() -> None:
    live = subscription_snapshot("sub_old", subscription_created=T0)
    ended = subscription_snapshot(
        "sub_new", status="incomplete_expired", subscription_created=T0 + timedelta(days=1)
    )
    assert derive_entitlement([live, ended], [], CATALOGUE, RETENTION).subscription_id == "sub_old"
    renewed = subscription_snapshot("sub_new", subscription_created=T0 + timedelta(days=1))
    assert derive_entitlement([live, renewed], [], CATALOGUE, RETENTION).subscription_id == (
        "sub_new"
    )


def test_no_subscription_entitles_nothing() -> None:
    ent = derive_entitlement([], [], CATALOGUE, RETENTION)
    assert (ent.entitled, ent.suspension_reason, ent.limits.max_inboxes) == (False, None, 0)


def test_a_price_outside_the_catalogue_is_an_error_not_unlimited() -> None:
    sub = subscription_snapshot("sub_1", items=[{"lookup_key": "mystery", "quantity": 1}])
    with pytest.raises(UnknownPlan, match="mystery"):
        derive_entitlement([sub], [], CATALOGUE, RETENTION)


# -- inbox policy --


def _inbox(status: InboxStatus, minute: int, **extra: object) -> Inbox:
    return Inbox.model_validate(
        {
            "tenant_id": uuid4(),
            "id": uuid4(),
            "domain_id": uuid4(),
            "server_id": None,
            "address": f"a{minute}@example.com",
            "status": status,
            "execution_name": None,
            "attempt": 0,
            "failure_reason": None,
            "created_at": T0 + timedelta(minutes=minute),
            "updated_at": T0,
            **extra,
        }
    )


def _entitled(max_inboxes: int) -> Entitlement:
    sub = subscription_snapshot(
        "sub_1", items=[{"lookup_key": "inbox_seat_monthly", "quantity": max_inboxes}]
    )
    return derive_entitlement([sub], [], CATALOGUE, RETENTION)


def test_payment_releases_waiting_inboxes_up_to_the_limit_oldest_first() -> None:
    active = _inbox(InboxStatus.ACTIVE, 0)
    waiting = [_inbox(InboxStatus.AWAITING_PAYMENT, m) for m in (3, 1, 2)]
    plan = plan_inboxes(_entitled(3), [active, *waiting])
    assert plan.release == [waiting[1].id, waiting[2].id]


def test_billing_suspensions_are_undone_first_but_other_suspensions_are_not() -> None:
    by_billing = _inbox(InboxStatus.SUSPENDED, 0, suspension_reason="non_payment")
    by_someone_else = _inbox(InboxStatus.SUSPENDED, 1)
    waiting = _inbox(InboxStatus.AWAITING_PAYMENT, 2)
    plan = plan_inboxes(_entitled(1), [by_billing, by_someone_else, waiting])
    assert (plan.reactivate, plan.release) == ([by_billing.id], [])


def test_a_downgrade_marks_the_newest_excess_for_the_period_end_and_an_upgrade_unmarks() -> None:
    inboxes = [_inbox(InboxStatus.ACTIVE, m) for m in range(4)]
    ent = _entitled(2)
    plan = plan_inboxes(ent, inboxes)
    assert plan.schedule == [
        (inboxes[2].id, ent.current_period_end),
        (inboxes[3].id, ent.current_period_end),
    ]
    assert (plan.suspend, plan.release) == ([], [])
    marked = [i.model_copy(update={"suspend_at": ent.current_period_end}) for i in inboxes[2:]]
    again = plan_inboxes(ent, [*inboxes[:2], *marked])
    assert (again.schedule, again.unschedule) == ([], [])
    upgraded = plan_inboxes(_entitled(4), [*inboxes[:2], *marked])
    assert upgraded.unschedule == [i.id for i in marked]
    assert ent.current_period_end is not None
    due = due_for_suspension(marked, ent.current_period_end)
    assert due == [i.id for i in marked]
    assert due_for_suspension(marked, ent.current_period_end - timedelta(seconds=1)) == []


def test_losing_the_subscription_suspends_active_inboxes_with_the_reason() -> None:
    active, waiting = _inbox(InboxStatus.ACTIVE, 0), _inbox(InboxStatus.AWAITING_PAYMENT, 1)
    sub = subscription_snapshot("sub_1", status="canceled", ended_at=T0)
    ent = derive_entitlement([sub], [], CATALOGUE, RETENTION)
    plan = plan_inboxes(ent, [active, waiting])
    assert plan.suspend == [(active.id, "canceled")]
    assert plan.release == []


# -- catalogue and reminder --


def test_the_shipped_catalogue_is_versioned_and_every_metered_plan_names_its_meter() -> None:
    assert CATALOGUE.version
    assert any(p.metered for p in CATALOGUE.plans.values())
    with pytest.raises(ValidationError, match="meter_event_name"):
        Plan(
            description="x",
            max_inboxes=1,
            max_domains=1,
            allowed_locations=("dallas",),
            metered=True,
        )
    limits = Catalogue(
        version="2026-01-01", plans={"a": CATALOGUE.plans["starter_monthly"]}
    ).limits([("a", 2)])
    assert (limits.max_inboxes, limits.allowed_locations) == (10, ("seattle", "dallas"))


def test_amounts_use_the_currencys_minor_unit() -> None:
    assert format_amount(4900, "usd") == "49.00 USD"
    assert format_amount(123456, "eur") == "1,234.56 EUR"
    assert format_amount(4900, "jpy") == "4,900 JPY"
    assert format_amount(1500, "kwd") == "1.500 KWD"


def test_the_reminder_names_amount_attempt_retry_date_and_link() -> None:
    invoice = invoice_snapshot(
        "in_9",
        status="open",
        amount_due=4900,
        amount_paid=0,
        attempt_count=2,
        next_payment_attempt=datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
        hosted_invoice_url="https://invoice.stripe.com/i/acct/in_9?a=1&b=2",
    )
    email = payment_failed_email("ap@acme.example", "Acme <Ltd>", invoice)
    assert email.to == "ap@acme.example"
    assert "49.00 USD" in email.subject
    assert "attempt 2" in email.subject
    assert "December 3, 2026 at 14:05 UTC" in email.text
    assert "https://invoice.stripe.com/i/acct/in_9?a=1&b=2" in email.text
    assert 'href="https://invoice.stripe.com/i/acct/in_9?a=1&amp;b=2"' in email.html
    assert "Acme &lt;Ltd&gt;" in email.html


def test_a_renewal_keeps_the_earliest_suspension_mark() -> None:
    inboxes = [_inbox(InboxStatus.ACTIVE, m) for m in range(2)]
    first = _entitled(1)
    assert first.current_period_end is not None
    marked = [inboxes[0], inboxes[1].model_copy(update={"suspend_at": first.current_period_end})]
    renewed = first.model_copy(
        update={"current_period_end": first.current_period_end + timedelta(days=30)}
    )
    plan = plan_inboxes(renewed, marked)
    assert (plan.schedule, plan.unschedule) == ([], [])


def test_an_open_invoice_of_an_ended_subscription_does_not_make_the_account_past_due() -> None:
    old = subscription_snapshot("sub_old", status="canceled", ended_at=T0)
    new = subscription_snapshot("sub_new", subscription_created=T0 + timedelta(days=1))
    left_open = invoice_snapshot("in_old", subscription_id="sub_old", status="open")
    assert derive_entitlement([old, new], [left_open], CATALOGUE, RETENTION).payment_state == "ok"
    failing = invoice_snapshot("in_new", subscription_id="sub_new", status="open")
    assert (
        derive_entitlement([old, new], [left_open, failing], CATALOGUE, RETENTION).payment_state
        == "past_due"
    )
    voided = failing.model_copy(update={"status": "void"})
    assert derive_entitlement([old, new], [voided], CATALOGUE, RETENTION).payment_state == "ok"
