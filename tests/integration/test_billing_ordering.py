"""Property: whatever order Stripe's events arrive in, however often, with same-second ties,
the tenant's final billing state is the state of the latest event (Stripe's current objects).

Events go through the worker's code path (process_message) into real PostgreSQL; a same-second
tie with different content is settled by Stripe's current object, served here from memory (the
re-fetch over HTTP through the SDK is covered against the Stripe simulator elsewhere)."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxfleet.billing.plans import default_catalogue
from inboxfleet.billing.ports import Email
from inboxfleet.billing.state import derive_entitlement
from inboxfleet.billing.stripe_objects import StripeInvoice, StripeSubscription
from inboxfleet.billing.worker import BillingDeps, process_message
from inboxfleet.db import Database, tenant_session
from inboxfleet.db.repositories import BillingAccounts, BillingObjects
from local.recording_starter import RecordingStarter
from tests.factories import new_tenant
from tests.stripe_support import Customer, new_id

RETENTION = timedelta(days=30)


class StripeTruth:
    """Stripe's current objects: the last state of each."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.fetches = 0

    def _get(self, object_id: str) -> dict[str, Any]:
        self.fetches += 1
        return self.objects[object_id]

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._get(subscription_id)

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return self._get(invoice_id)

    def customer(self, customer_id: str) -> dict[str, Any]:
        raise AssertionError("every event names its tenant")

    def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]:
        raise AssertionError("events never list a customer's subscriptions")


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        self.sent.append(email)


subscription_states = st.lists(
    st.tuples(
        st.sampled_from(["active", "trialing", "past_due", "unpaid", "canceled"]),
        st.sampled_from(["starter_monthly", "growth_monthly", "inbox_seat_monthly"]),
        st.integers(min_value=1, max_value=4),
        st.integers(min_value=0, max_value=2),  # seconds after the previous event: 0 = a tie
    ),
    min_size=1,
    max_size=6,
)
invoice_states = st.lists(
    st.tuples(
        st.sampled_from(["open", "paid", "void"]),
        st.integers(min_value=0, max_value=2),
    ),
    max_size=4,
)


def _history(
    customer: Customer,
    subs: list[tuple[str, str, int, int]],
    invoices: list[tuple[str, int]],
) -> tuple[list[dict[str, Any]], StripeTruth]:
    truth = StripeTruth()
    events: list[dict[str, Any]] = []
    at = 1_790_000_000
    for n, (status, plan, quantity, gap) in enumerate(subs):
        at += gap
        kind = "created" if n == 0 else "deleted" if status == "canceled" else "updated"
        obj = customer.subscription(
            status=status,
            plan=plan,
            quantity=quantity,
            ended_at=at if status == "canceled" else None,
        )
        events.append(customer.event(f"customer.subscription.{kind}", obj, at))
        truth.objects[customer.subscription_id] = obj
    invoice_id = new_id("in")
    at = 1_790_000_000
    for attempt, (status, gap) in enumerate(invoices, start=1):
        at += gap
        obj = customer.invoice(invoice_id, status=status, attempt_count=attempt)
        kind = {"open": "payment_failed", "paid": "paid", "void": "payment_succeeded"}[status]
        events.append(customer.event(f"invoice.{kind}", obj, at))
        truth.objects[invoice_id] = obj
    return events, truth


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    subs=subscription_states,
    invoices=invoice_states,
    duplicates=st.lists(st.integers(min_value=0, max_value=100), max_size=6),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_the_final_state_is_the_latest_events_whatever_the_order(
    app_db: Database,
    subs: list[tuple[str, str, int, int]],
    invoices: list[tuple[str, int]],
    duplicates: list[int],
    seed: int,
) -> None:
    tenant = new_tenant("ordering")
    customer = Customer(tenant_id=str(tenant))
    events, truth = _history(customer, subs, invoices)
    deliveries = events + [events[i % len(events)] for i in duplicates]
    random.Random(seed).shuffle(deliveries)
    deps = BillingDeps(
        stripe=truth,
        mailer=Outbox(),
        starter=RecordingStarter(),
        catalogue=default_catalogue(),
        retention=RETENTION,
    )

    for event in deliveries:
        process_message(json.dumps(event), deps)

    _assert_matches_truth(tenant, customer, truth)


def _assert_matches_truth(tenant: UUID, customer: Customer, truth: StripeTruth) -> None:
    expected_sub = StripeSubscription.model_validate(truth.objects[customer.subscription_id])
    invoice_objects = [o for k, o in truth.objects.items() if k.startswith("in_")]
    expected_invoices = [StripeInvoice.model_validate(o).snapshot() for o in invoice_objects]
    with tenant_session(tenant) as s:
        objects = BillingObjects(s)
        stored_sub = objects.subscription(customer.subscription_id)
        stored_invoices = objects.invoices()
        account = BillingAccounts(s).get()
    assert stored_sub is not None
    assert stored_sub.split()[1] == expected_sub.snapshot()
    assert stored_invoices == expected_invoices
    expected = derive_entitlement(
        [expected_sub.snapshot()], expected_invoices, default_catalogue(), RETENTION
    )
    assert account is not None
    assert (
        account.subscription_status,
        account.plan,
        account.quantity,
        account.max_inboxes,
        account.payment_state,
        account.teardown_after,
    ) == (
        expected.subscription_status,
        expected.plan,
        expected.quantity,
        expected.limits.max_inboxes,
        expected.payment_state,
        expected.teardown_after,
    )
