"""Onboarding and usage metering through the Stripe SDK, pointed at the Stripe simulator over
HTTP; real PostgreSQL."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from inboxfleet.billing.errors import (
    CustomerMissing,
    StripeRefused,
    StripeUnavailable,
    UnknownPlan,
)
from inboxfleet.billing.onboarding import (
    AlreadySubscribed,
    CheckoutRequest,
    CheckoutSuperseded,
    QuantityNotApplicable,
    ensure_customer,
    start_checkout,
)
from inboxfleet.billing.plans import default_catalogue
from inboxfleet.billing.state import derive_entitlement
from inboxfleet.billing.stripe_api import StripeApi, stripe_deadline
from inboxfleet.billing.usage import meter_identifier, report_daily_usage
from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import BillingAccounts, Domains, Inboxes
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.settings import BillingSettings
from local.stripe_sim.server import StripeSimulator
from tests.factories import new_tenant, subscription_snapshot
from tests.leakcheck import register_secret

API_KEY = "sk_test_billing_api_key"
register_secret(API_KEY)
CATALOGUE = default_catalogue()
DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("app_db")


@pytest.fixture
def sim() -> Iterator[StripeSimulator]:
    with StripeSimulator(API_KEY, clock=NOW.timestamp) as stripe_sim:
        for plan, terms in CATALOGUE.plans.items():
            stripe_sim.add_price(plan, usage_type="metered" if terms.metered else "licensed")
        yield stripe_sim


@pytest.fixture
def api(sim: StripeSimulator) -> StripeApi:
    settings = BillingSettings(stripe_api_base=sim.base_url, stripe_max_retries=1)
    return StripeApi(lambda: API_KEY, settings)


def subscribe(tenant: UUID, customer_id: str, plan: str, active_inboxes: int) -> None:
    """The state billing events leave behind: a linked customer on a plan, inboxes running."""
    with tenant_session(tenant) as s:
        accounts = BillingAccounts(s)
        accounts.link_customer(customer_id)
        items = [{"lookup_key": plan, "quantity": 1}]
        accounts.save_entitlement(
            derive_entitlement(
                [subscription_snapshot(f"sub_{secrets.token_hex(4)}", items=items)],
                [],
                CATALOGUE,
                timedelta(days=30),
            )
        )
        domain = Domains(s).add(f"m{secrets.token_hex(4)}.example.com")
        for n in range(active_inboxes):
            Inboxes(s).add(domain.id, f"u{n}@{domain.name}", status=InboxStatus.ACTIVE)
        Inboxes(s).add(domain.id, f"waiting@{domain.name}")  # not active: not counted


def checkout_request(tenant: UUID, plan: str = "growth_monthly") -> CheckoutRequest:
    return CheckoutRequest(
        tenant_id=tenant,
        plan=plan,
        quantity=2,
        success_url="https://app.inboxfleet.example/billing/done",
        cancel_url="https://app.inboxfleet.example/billing",
        request_id=f"req_{secrets.token_hex(6)}",
    )


def test_checkout_creates_one_linked_customer_and_a_session_carrying_the_tenant(
    sim: StripeSimulator, api: StripeApi
) -> None:
    tenant = new_tenant("acme")
    request = checkout_request(tenant)
    checkout = start_checkout(api, request, CATALOGUE)

    customer = sim.customer(checkout.customer_id)
    assert customer["metadata"] == {"tenant_id": str(tenant)}
    assert customer["email"] == "billing@example.com"
    session = sim.checkout_session(checkout.session_id)
    assert checkout.url == session["url"]
    assert session["client_reference_id"] == str(tenant)
    assert session["customer"] == checkout.customer_id
    with tenant_session(tenant) as s:
        account = BillingAccounts(s).get()
    assert account is not None
    assert account.stripe_customer_id == checkout.customer_id

    # A retry of the same request reuses everything; a second checkout reuses the customer,
    # and its session is the only one that can still be paid.
    again = start_checkout(api, request, CATALOGUE)
    assert again == checkout
    assert sim.checkout_session(checkout.session_id)["status"] == "open"
    other = start_checkout(api, checkout_request(tenant), CATALOGUE)
    assert other.customer_id == checkout.customer_id
    assert ensure_customer(api, tenant) == checkout.customer_id
    assert len([c for c in sim.customers if c["metadata"].get("tenant_id") == str(tenant)]) == 1
    assert sim.checkout_session(checkout.session_id)["status"] == "expired"

    # Paying on the hosted page yields a subscription carrying the tenant (what links events).
    subscription = sim.complete_checkout(other.session_id)
    assert subscription["metadata"] == {"tenant_id": str(tenant)}
    assert subscription["items"]["data"][0]["quantity"] == 2


def test_checkout_refuses_plans_outside_the_catalogue_and_live_subscribers(
    api: StripeApi,
) -> None:
    tenant = new_tenant()
    with pytest.raises(UnknownPlan, match="platinum"):
        start_checkout(api, checkout_request(tenant, "platinum"), CATALOGUE)
    subscribe(tenant, f"cus_{secrets.token_hex(5)}", "growth_monthly", 0)
    with pytest.raises(AlreadySubscribed):
        start_checkout(api, checkout_request(tenant), CATALOGUE)


def test_a_session_paid_while_another_checkout_runs_is_seen_and_the_new_one_expired(
    sim: StripeSimulator, api: StripeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The earlier session is paid after the new checkout listed it open but before it expired
    it: Stripe refuses the expiry, the subscription is read after it, the tenant is told it is
    subscribed, and the new session cannot be paid."""
    tenant = new_tenant()
    first = start_checkout(api, checkout_request(tenant), CATALOGUE)
    listed = api.open_checkout_sessions

    def paid_meanwhile(customer_id: str) -> list[dict[str, Any]]:
        found = listed(customer_id)
        if any(s["id"] == first.session_id for s in found):  # paid right after it was listed
            sim.complete_checkout(first.session_id)
        return found

    monkeypatch.setattr(api, "open_checkout_sessions", paid_meanwhile)
    with pytest.raises(AlreadySubscribed, match="active"):
        start_checkout(api, checkout_request(tenant), CATALOGUE)
    statuses = {s["id"]: s["status"] for s in sim.checkout_sessions}
    assert statuses[first.session_id] == "complete"
    assert [state for sid, state in statuses.items() if sid != first.session_id] == ["expired"]


def test_a_checkout_expired_by_one_started_at_the_same_moment_is_never_answered(
    sim: StripeSimulator, api: StripeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two checkouts interleave: each lists the other open and expires it. The one whose own
    session was expired meanwhile says so, rather than answering with a dead URL."""
    tenant = new_tenant()
    listed = api.open_checkout_sessions
    calls: list[int] = []

    def other_expires_ours(customer_id: str) -> list[dict[str, Any]]:
        found = listed(customer_id)
        calls.append(1)
        if len(calls) == 1:  # between our listing and our re-check, the other expires ours
            for session in found:
                api.expire_checkout_session(str(session["id"]))
        return found

    monkeypatch.setattr(api, "open_checkout_sessions", other_expires_ours)
    with pytest.raises(CheckoutSuperseded):
        start_checkout(api, checkout_request(tenant), CATALOGUE)
    assert [s["status"] for s in sim.checkout_sessions] == ["expired"]


def test_stripes_refusals_are_told_apart_from_its_outages(
    sim: StripeSimulator, api: StripeApi
) -> None:
    tenant = new_tenant()
    customer = ensure_customer(api, tenant)
    sim.fail_next(400, path="/v1/checkout/sessions", param="cancel_url", code="url_invalid")
    with pytest.raises(StripeRefused) as refused:
        start_checkout(api, checkout_request(tenant), CATALOGUE)
    assert refused.value.param == "cancel_url"
    sim.fail_next(429, path="/v1/checkout/sessions", should_retry=False)
    with pytest.raises(StripeUnavailable):
        start_checkout(api, checkout_request(tenant), CATALOGUE)
    with pytest.raises(CustomerMissing):
        api.subscriptions_of("cus_missing")
    assert api.subscriptions_of(customer) == []
    wrong_key = StripeApi(lambda: "sk_test_wrong", BillingSettings(stripe_api_base=sim.base_url))
    with pytest.raises(StripeRefused, match="AuthenticationError"):
        wrong_key.open_checkout_sessions(customer)
    api.create_customer(email=None, name=None, tenant_id="t-1", idempotency_key="key-1")
    with pytest.raises(StripeRefused, match="IdempotencyError"):
        api.create_customer(email=None, name=None, tenant_id="t-2", idempotency_key="key-1")


def test_a_call_that_could_outlast_its_deadline_is_not_started(
    sim: StripeSimulator,
) -> None:
    settings = BillingSettings(stripe_api_base=sim.base_url)
    quick = StripeApi(lambda: API_KEY, settings, timeout_s=2.5, max_retries=0)
    # The HTTP client times each stage of a try on its own: connect, send, read.
    assert quick.longest_call_s() == 7.5
    # The settings' budget: two tries of 3 x 5 s and the SDK's longest wait between them.
    assert StripeApi(lambda: API_KEY, settings).longest_call_s() == 35.0
    with stripe_deadline(time.monotonic() + 7.0), pytest.raises(StripeUnavailable):
        quick.price_by_lookup_key("growth_monthly")
    assert sim.requests == []
    with stripe_deadline(time.monotonic() + 30.0):
        assert quick.price_by_lookup_key("growth_monthly") is not None
    assert len(sim.requests) == 1


def test_a_plan_billed_by_usage_is_checked_out_without_a_quantity(
    sim: StripeSimulator, api: StripeApi
) -> None:
    """Stripe refuses any quantity on a metered price: the line item carries none, and a
    quantity other than 1 is refused before Stripe is asked."""
    tenant = new_tenant("usage")
    with pytest.raises(QuantityNotApplicable, match="usage_monthly"):
        start_checkout(api, checkout_request(tenant, "usage_monthly"), CATALOGUE)  # quantity 2
    assert sim.requests == []
    request = checkout_request(tenant, "usage_monthly").model_copy(update={"quantity": 1})
    checkout = start_checkout(api, request, CATALOGUE)
    subscription = sim.complete_checkout(checkout.session_id)
    [item] = subscription["items"]["data"]
    assert item["price"]["lookup_key"] == "usage_monthly"
    assert item["price"]["recurring"]["usage_type"] == "metered"


def test_usage_is_reported_once_per_tenant_and_day_even_when_run_twice(
    sim: StripeSimulator, api: StripeApi
) -> None:
    metered, flat = new_tenant("metered"), new_tenant("flat")
    metered_customer = sim.add_customer(metadata={"tenant_id": str(metered)})["id"]
    subscribe(metered, metered_customer, "usage_monthly", active_inboxes=3)
    subscribe(flat, sim.add_customer()["id"], "growth_monthly", active_inboxes=2)

    first = report_daily_usage(api, CATALOGUE, DAY, NOW)
    second = report_daily_usage(api, CATALOGUE, DAY, NOW)

    assert metered in first.reported
    assert flat not in first.reported + first.already_reported
    assert metered in second.already_reported
    mine = [e for e in sim.meter_events if e["payload"]["stripe_customer_id"] == metered_customer]
    assert len(mine) == 1
    [event] = mine
    assert event["event_name"] == "active_inboxes"
    assert event["payload"]["value"] == "3"
    assert event["identifier"] == meter_identifier(metered, DAY)
    assert event["timestamp"] == int(datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC).timestamp())
    # The next day is a new report.
    next_day = report_daily_usage(api, CATALOGUE, DAY + timedelta(days=1), NOW)
    assert metered in next_day.reported


def test_a_crash_between_sending_and_recording_cannot_count_a_day_twice(
    sim: StripeSimulator, api: StripeApi
) -> None:
    tenant = new_tenant()
    customer = sim.add_customer()["id"]
    subscribe(tenant, customer, "usage_monthly", active_inboxes=1)
    # Stripe already has this day's event (sent, then the run died before recording it).
    api.create_meter_event(
        event_name="active_inboxes",
        customer_id=customer,
        value=1,
        identifier=meter_identifier(tenant, DAY),
        timestamp=int(NOW.timestamp()) - 3600,
    )
    run = report_daily_usage(api, CATALOGUE, DAY, NOW)
    assert tenant in run.reported
    assert len([e for e in sim.meter_events if e["payload"]["stripe_customer_id"] == customer]) == 1


def test_a_failing_stripe_fails_only_that_tenant_and_the_next_run_reports_it(
    sim: StripeSimulator, api: StripeApi
) -> None:
    tenant = new_tenant()
    customer = sim.add_customer()["id"]
    subscribe(tenant, customer, "usage_monthly", active_inboxes=2)
    sim.fail_next(500, times=10, path="/v1/billing/meter_events")
    run = report_daily_usage(api, CATALOGUE, DAY, NOW)
    assert run.failed[tenant].startswith("StripeUnavailable")
    sim.clear_faults()
    assert tenant in report_daily_usage(api, CATALOGUE, DAY, NOW).reported


def test_reads_of_missing_objects_are_named_errors(api: StripeApi) -> None:
    with pytest.raises(StripeUnavailable, match="subscription read failed"):
        api.subscription("sub_missing")
