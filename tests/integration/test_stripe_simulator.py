"""The Stripe simulator driven by the real SDK (stripe-python 16) over HTTP on loopback.

What is checked is what the SDK and the platform rely on: request encoding (bracket notation,
indexed lists), authentication, Stripe's error bodies (so the SDK raises the right class with
the right code/param), Idempotency-Key replay, the basil and legacy shapes, meter-event dedupe
and timestamp window, injected 429/5xx. Time is a fake clock; nothing sleeps for timing (the
SDK's retry back-off is patched to zero where retries are exercised).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
import stripe

from inboxfleet.billing.errors import InvalidDelivery
from inboxfleet.billing.signature import verify
from local.fake_clock import FakeClock
from local.stripe_sim import (
    API_VERSION,
    LEGACY_API_VERSION,
    StripeSimulator,
    customer_object,
    event_object,
    invoice_object,
    price_object,
    subscription_object,
)
from tests.leakcheck import register_secret

API_KEY = "sk_test_simkey_4fQ9zLw2Xc7Rb1Tn"
NOW = 1_760_000_000  # 2025-10-09T08:53:20Z
DAY = 24 * 3600
register_secret(API_KEY)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[StripeSimulator]:
    with StripeSimulator(API_KEY, clock=clock) as simulator:
        simulator.add_price("inboxes_monthly", unit_amount=1500)
        simulator.add_price("emails_metered", usage_type="metered", unit_amount=2)
        yield simulator


@pytest.fixture
def legacy_sim(clock: FakeClock) -> Iterator[StripeSimulator]:
    with StripeSimulator(API_KEY, clock=clock, legacy_shapes=True) as simulator:
        simulator.add_price("inboxes_monthly", unit_amount=1500)
        yield simulator


def client_for(sim: StripeSimulator, key: str = API_KEY, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(
        key, base_addresses={"api": sim.base_url}, max_network_retries=retries
    )


@pytest.fixture
def client(sim: StripeSimulator) -> stripe.StripeClient:
    return client_for(sim)


def raw(sim: StripeSimulator, method: str, path: str, **kw: Any) -> httpx.Response:
    """A request with exactly the bytes a test chooses (the SDK always encodes its own way)."""
    headers = {"Authorization": f"Bearer {API_KEY}", **kw.pop("headers", {})}
    with httpx.Client(base_url=sim.base_url) as http:
        return http.request(method, path, headers=headers, **kw)


def checkout_params(price: str, **overrides: Any) -> Any:
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": price, "quantity": 3}],
        "success_url": "https://app.example/billing/done",
        "cancel_url": "https://app.example/billing",
        "client_reference_id": "tenant-7",
        "metadata": {"tenant_id": "tenant-7"},
        "subscription_data": {"metadata": {"tenant_id": "tenant-7"}},
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def price_id(sim: StripeSimulator, lookup_key: str) -> str:
    client = client_for(sim)
    prices = client.v1.prices.list(params={"lookup_keys": [lookup_key]})
    return str(prices.data[0].id)


# ---- the builders ----------------------------------------------------------------------------


def test_builders_output_is_accepted_by_the_sdk_in_both_shapes() -> None:
    price = price_object(id="price_1A", lookup_key="inboxes_monthly")
    for legacy in (False, True):
        sub = subscription_object(
            id="sub_1A",
            customer="cus_A",
            status="active",
            created=NOW,
            price=price,
            quantity=2,
            metadata={"tenant_id": "t1"},
            current_period_start=NOW,
            current_period_end=NOW + 30 * DAY,
            legacy=legacy,
        )
        invoice = invoice_object(
            id="in_1A",
            customer="cus_A",
            subscription="sub_1A",
            status="open",
            created=NOW,
            amount_due=3000,
            amount_paid=0,
            attempt_count=1,
            next_payment_attempt=NOW + DAY,
            subscription_metadata={"tenant_id": "t1"},
            legacy=legacy,
        )
        event = event_object(
            id="evt_1A", type="customer.subscription.created", created=NOW, obj=sub, legacy=legacy
        )
        typed_sub = stripe.Subscription.construct_from(sub, API_KEY)
        typed_event = stripe.Event.construct_from(event, API_KEY)
        typed_invoice = stripe.Invoice.construct_from(invoice, API_KEY)
        assert isinstance(typed_event.data.object, stripe.Subscription)
        assert typed_event.data.object.id == "sub_1A"
        assert typed_event.api_version == (LEGACY_API_VERSION if legacy else API_VERSION)
        item = typed_sub["items"].data[0]
        assert isinstance(item, stripe.SubscriptionItem)
        assert item.price.lookup_key == "inboxes_monthly"
        assert typed_sub.metadata["tenant_id"] == "t1"
        assert typed_invoice.attempt_count == 1
        if legacy:
            assert sub["current_period_end"] == NOW + 30 * DAY
            assert "current_period_end" not in sub["items"]["data"][0]
            assert invoice["subscription"] == "sub_1A"
            assert invoice["subscription_details"] == {"metadata": {"tenant_id": "t1"}}
            assert "parent" not in invoice
        else:
            assert "current_period_end" not in sub
            assert item.current_period_end == NOW + 30 * DAY
            assert "subscription" not in invoice
            assert typed_invoice.parent is not None
            details = typed_invoice.parent.subscription_details
            assert details is not None
            assert details.subscription == "sub_1A"
            assert details.metadata is not None
            assert details.metadata["tenant_id"] == "t1"


def test_event_carries_previous_attributes_only_when_given() -> None:
    customer = customer_object(id="cus_A", email=None, name=None, metadata={}, created=NOW)
    plain = event_object(id="evt_1", type="customer.created", created=NOW, obj=customer)
    updated = event_object(
        id="evt_2",
        type="customer.updated",
        created=NOW,
        obj=customer,
        previous_attributes={"email": "old@example.com"},
    )
    assert "previous_attributes" not in plain["data"]
    assert updated["data"]["previous_attributes"] == {"email": "old@example.com"}
    assert plain["request"] == {"id": None, "idempotency_key": None}
    assert plain["pending_webhooks"] == 1
    assert plain["livemode"] is False


def test_subscription_item_id_is_stable_and_cancel_at_follows_the_period() -> None:
    price = price_object(id="price_1A", lookup_key=None)
    common: dict[str, Any] = {
        "id": "sub_1Xyz",
        "customer": "cus_A",
        "status": "active",
        "created": NOW,
        "price": price,
        "quantity": 1,
        "metadata": {},
        "current_period_start": NOW,
        "current_period_end": NOW + 30 * DAY,
    }
    first = subscription_object(**common)
    again = subscription_object(**common, cancel_at_period_end=True)
    assert first["items"]["data"][0]["id"] == again["items"]["data"][0]["id"] == "si_1Xyz"
    assert first["cancel_at"] is None
    assert again["cancel_at"] == NOW + 30 * DAY


# ---- lifecycle and authentication ----------------------------------------------------------


def test_context_manager_serves_then_stops(clock: FakeClock) -> None:
    with StripeSimulator(API_KEY, clock=clock) as sim:
        base_url = sim.base_url
        assert base_url.startswith("http://127.0.0.1:")
        assert client_for(sim).v1.customers.create().id.startswith("cus_")
        with pytest.raises(RuntimeError, match="already running"):
            sim.start()
    with pytest.raises(httpx.ConnectError), httpx.Client(base_url=base_url) as http:
        http.post("/v1/customers")
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.base_url
    assert API_KEY not in repr(sim)


def test_missing_api_key_is_401(sim: StripeSimulator) -> None:
    response = raw(sim, "POST", "/v1/customers", headers={"Authorization": ""})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")
    assert sim.request_log[0].status == 401
    assert sim.customers == []


def test_wrong_api_key_is_401_and_the_sdk_raises_authentication_error(
    sim: StripeSimulator,
) -> None:
    wrong = "sk_test_wrongkey_0000000000abcd"
    with pytest.raises(stripe.AuthenticationError) as caught:
        client_for(sim, key=wrong).v1.customers.create(params={"email": "a@example.com"})
    assert caught.value.http_status == 401
    message = caught.value.user_message or ""
    # Stripe shows the key's prefix and last four characters only.
    assert message.startswith("Invalid API Key provided: sk_test_")
    assert message.endswith("abcd")
    assert wrong not in message
    assert sim.requests == [("POST", "/v1/customers")]
    assert sim.request_log[0].status == 401


def test_basic_auth_with_the_key_as_user_name_is_accepted(sim: StripeSimulator) -> None:
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    response = raw(sim, "POST", "/v1/customers", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200
    assert response.json()["object"] == "customer"


def test_unknown_url_is_stripes_404(sim: StripeSimulator) -> None:
    response = raw(sim, "GET", "/v1/nonsense")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"].startswith("Unrecognized request URL (GET: /v1/nonsense).")
    assert error["type"] == "invalid_request_error"


# ---- customers ------------------------------------------------------------------------------


def test_customer_create_and_retrieve(sim: StripeSimulator, client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(
        params={
            "email": "owner@tenant.example",
            "name": "Tenant 7",
            "metadata": {"tenant_id": "t7"},
        }
    )
    assert created.id.startswith("cus_")
    assert created.created == NOW
    fetched = client.v1.customers.retrieve(created.id)
    assert fetched.email == "owner@tenant.example"
    assert fetched.name == "Tenant 7"
    assert fetched.metadata is not None
    assert fetched.metadata.to_dict() == {"tenant_id": "t7"}
    assert sim.customer(created.id)["metadata"] == {"tenant_id": "t7"}


def test_unknown_customer_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_doesnotexist")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert caught.value.param == "id"
    assert caught.value.user_message == "No such customer: 'cus_doesnotexist'"


def test_unknown_parameter_is_refused(client: stripe.StripeClient) -> None:
    unknown: Any = {"tenant_id": "t7"}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.create(params=unknown)
    assert caught.value.code == "parameter_unknown"
    assert caught.value.param == "tenant_id"


def test_bracket_metadata_and_empty_metadata_decode_like_stripe(sim: StripeSimulator) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    nested = raw(
        sim,
        "POST",
        "/v1/customers",
        content="metadata[tenant_id]=t9&metadata[tier]=a",
        headers=form,
    )
    assert nested.json()["metadata"] == {"tenant_id": "t9", "tier": "a"}
    emptied = raw(
        sim, "POST", "/v1/customers", content="metadata=&email=x%40t.example", headers=form
    )
    assert emptied.json()["metadata"] == {}
    clash = raw(sim, "POST", "/v1/customers", content="metadata=a&metadata[k]=b", headers=form)
    assert clash.status_code == 400
    assert clash.json()["error"]["param"] == "metadata"


# ---- prices ---------------------------------------------------------------------------------


def test_price_lookup_by_key(sim: StripeSimulator, client: stripe.StripeClient) -> None:
    sim.add_price("retired_plan", active=False)
    found = client.v1.prices.list(
        params={"lookup_keys": ["inboxes_monthly"], "active": True, "expand": ["data.product"]}
    )
    assert [p.lookup_key for p in found.data] == ["inboxes_monthly"]
    price = found.data[0]
    assert price.object == "price"
    assert price.unit_amount == 1500
    assert price.recurring is not None
    assert price.recurring.interval == "month"
    inactive = client.v1.prices.list(params={"active": False})
    assert [p.lookup_key for p in inactive.data] == ["retired_plan"]
    assert client.v1.prices.list(params={"lookup_keys": ["nope"]}).data == []


def test_price_lookup_accepts_the_empty_bracket_list_form(sim: StripeSimulator) -> None:
    response = raw(
        sim,
        "GET",
        "/v1/prices",
        params=[("lookup_keys[]", "inboxes_monthly"), ("lookup_keys[]", "emails_metered")],
    )
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert body["url"] == "/v1/prices"
    assert body["has_more"] is False
    assert response.headers["Stripe-Version"] == API_VERSION
    assert response.headers["Request-Id"].startswith("req_")
    assert sorted(p["lookup_key"] for p in body["data"]) == ["emails_metered", "inboxes_monthly"]


# ---- checkout -------------------------------------------------------------------------------


def test_checkout_session_create(sim: StripeSimulator, client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"metadata": {"tenant_id": "tenant-7"}})
    price = price_id(sim, "inboxes_monthly")
    session = client.v1.checkout.sessions.create(
        params=checkout_params(price, customer=customer.id)
    )
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"https://checkout.stripe.com/c/pay/{session.id}"
    assert session.mode == "subscription"
    assert session.status == "open"
    assert session.customer == customer.id
    assert session.client_reference_id == "tenant-7"
    assert session.metadata is not None
    assert session.metadata.to_dict() == {"tenant_id": "tenant-7"}
    assert session.amount_total == 4500
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_completed_checkout_gives_a_subscription_with_the_subscription_metadata(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    price = price_id(sim, "inboxes_monthly")
    session = client.v1.checkout.sessions.create(params=checkout_params(price))
    sub = sim.complete_checkout(session.id)
    assert sub["metadata"] == {"tenant_id": "tenant-7"}
    assert sub["status"] == "active"
    assert sub["items"]["data"][0]["quantity"] == 3
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete"
    assert done.subscription == sub["id"]
    assert done.customer == sub["customer"]
    with pytest.raises(ValueError, match="complete"):
        sim.complete_checkout(session.id)


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"mode": None}, "mode"),
        ({"success_url": None}, "success_url"),
        ({"line_items": None}, "line_items"),
        ({"line_items": [{"quantity": 1}]}, "line_items[0][price]"),
        ({"line_items": [{"price": "PRICE"}]}, "line_items[0][quantity]"),
    ],
)
def test_checkout_session_required_params(
    sim: StripeSimulator, client: stripe.StripeClient, overrides: dict[str, Any], param: str
) -> None:
    price = price_id(sim, "inboxes_monthly")
    if overrides.get("line_items"):
        overrides["line_items"] = [
            {k: (price if v == "PRICE" else v) for k, v in item.items()}
            for item in overrides["line_items"]
        ]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=checkout_params(price, **overrides))
    assert caught.value.http_status == 400
    assert caught.value.code == "parameter_missing"
    assert caught.value.param == param
    assert caught.value.user_message == f"Missing required param: {param}."
    assert sim.checkout_sessions == []


def test_checkout_session_refuses_unknown_customer_and_price(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    price = price_id(sim, "inboxes_monthly")
    with pytest.raises(stripe.InvalidRequestError) as no_customer:
        client.v1.checkout.sessions.create(params=checkout_params(price, customer="cus_missing"))
    assert no_customer.value.http_status == 400
    assert (no_customer.value.code, no_customer.value.param) == ("resource_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as no_price:
        client.v1.checkout.sessions.create(params=checkout_params("price_missing"))
    assert no_price.value.param == "line_items[0][price]"
    assert no_price.value.user_message == "No such price: 'price_missing'"


def test_checkout_session_metered_price_takes_no_quantity(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    metered = price_id(sim, "emails_metered")
    licensed = price_id(sim, "inboxes_monthly")
    items = [{"price": licensed, "quantity": 1}, {"price": metered}]
    session = client.v1.checkout.sessions.create(params=checkout_params(licensed, line_items=items))
    assert session.status == "open"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(
            params=checkout_params(licensed, line_items=[{"price": metered, "quantity": 1}])
        )
    assert caught.value.param == "line_items[0][quantity]"


def test_checkout_sessions_are_listed_by_customer_and_status_newest_first(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    price = price_id(sim, "inboxes_monthly")
    mine, theirs = sim.add_customer()["id"], sim.add_customer()["id"]
    first, second, third = (
        client.v1.checkout.sessions.create(params=checkout_params(price, customer=mine)).id
        for _ in range(3)
    )
    client.v1.checkout.sessions.create(params=checkout_params(price, customer=theirs))
    sim.complete_checkout(first)
    listed = client.v1.checkout.sessions.list(params={"customer": mine, "status": "open"})
    assert [s.id for s in listed.data] == [third, second]
    assert listed.has_more is False
    assert listed.url == "/v1/checkout/sessions"
    every = client.v1.checkout.sessions.list(params={"customer": mine})
    assert [s.id for s in every.data] == [third, second, first]
    # A page at a time, as the SDK pages.
    page = client.v1.checkout.sessions.list(params={"customer": mine, "limit": 1})
    assert ([s.id for s in page.data], page.has_more) == ([third], True)
    rest = client.v1.checkout.sessions.list(
        params={"customer": mine, "limit": 2, "starting_after": third}
    )
    assert ([s.id for s in rest.data], rest.has_more) == ([second, first], False)


def test_listing_checkout_sessions_refuses_unknown_customers_and_statuses(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as no_customer:
        client.v1.checkout.sessions.list(params={"customer": "cus_missing"})
    assert (no_customer.value.code, no_customer.value.param) == ("resource_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as bad_status:
        client.v1.checkout.sessions.list(params={"status": "paid"})
    assert bad_status.value.param == "status"
    with pytest.raises(stripe.InvalidRequestError) as bad_limit:
        client.v1.checkout.sessions.list(params={"limit": 101})
    assert bad_limit.value.param == "limit"


def test_an_expired_checkout_session_cannot_be_paid_nor_expired_again(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    price = price_id(sim, "inboxes_monthly")
    session = client.v1.checkout.sessions.create(params=checkout_params(price))
    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.id, expired.status, expired.url) == (session.id, "expired", None)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    with pytest.raises(ValueError, match="expired"):
        sim.complete_checkout(session.id)
    assert sim.checkout_session(session.id)["subscription"] is None
    # Only an open session is expired: Stripe's refusal names the status it has.
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.checkout.sessions.expire(session.id)
    assert again.value.http_status == 400
    assert again.value.user_message == (
        'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
        "Session has a status of `expired`."
    )
    paid = client.v1.checkout.sessions.create(params=checkout_params(price))
    sim.complete_checkout(paid.id)
    with pytest.raises(stripe.InvalidRequestError, match="status of `complete`"):
        client.v1.checkout.sessions.expire(paid.id)
    assert client.v1.checkout.sessions.retrieve(paid.id).status == "complete"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.expire("cs_test_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")


# ---- customer portal -------------------------------------------------------------------------

RETURN_URL = "https://app.example/billing"


def test_portal_session_for_a_known_customer(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    customer = client.v1.customers.create(params={"metadata": {"tenant_id": "tenant-7"}})
    params: Any = {"customer": customer.id, "return_url": RETURN_URL}
    session = client.v1.billing_portal.sessions.create(params=params)
    assert session.id.startswith("bps_")
    assert session.object == "billing_portal.session"
    assert (session.customer, session.return_url) == (customer.id, RETURN_URL)
    assert session.url.startswith("https://billing.stripe.com/p/session/test_")
    assert str(session.configuration).startswith("bpc_")
    assert (session.created, session.livemode, session.flow) == (NOW, False, None)
    assert sim.portal_sessions == [session.to_dict()]
    # Every call is a new session with its own link.
    again = client.v1.billing_portal.sessions.create(params=params)
    assert again.id != session.id
    assert again.url != session.url
    assert len(sim.portal_sessions) == 2


def test_portal_session_refuses_unknown_customers_and_missing_or_unknown_params(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    customer = sim.add_customer()["id"]
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.billing_portal.sessions.create(
            params={"customer": "cus_missing", "return_url": RETURN_URL}
        )
    assert unknown.value.http_status == 400
    assert (unknown.value.code, unknown.value.param) == ("resource_missing", "customer")
    assert unknown.value.user_message == "No such customer: 'cus_missing'"
    incomplete: list[tuple[Any, str]] = [
        ({"customer": customer}, "return_url"),
        ({"return_url": RETURN_URL}, "customer"),
    ]
    for params, param in incomplete:
        with pytest.raises(stripe.InvalidRequestError) as missing:
            client.v1.billing_portal.sessions.create(params=params)
        assert (missing.value.http_status, missing.value.code) == (400, "parameter_missing")
        assert missing.value.param == param
    not_a_param: Any = {"customer": customer, "return_url": RETURN_URL, "tenant_id": "t7"}
    with pytest.raises(stripe.InvalidRequestError) as unknown_param:
        client.v1.billing_portal.sessions.create(params=not_a_param)
    assert (unknown_param.value.code, unknown_param.value.param) == (
        "parameter_unknown",
        "tenant_id",
    )
    assert sim.portal_sessions == []


# ---- subscriptions and invoices: current state in either shape -----------------------------


def test_subscription_retrieve_shows_current_state_in_basil_shape(
    sim: StripeSimulator, client: stripe.StripeClient, clock: FakeClock
) -> None:
    customer = sim.add_customer(email="o@t.example", metadata={"tenant_id": "t1"})
    created = sim.add_subscription(
        customer["id"], "inboxes_monthly", quantity=2, metadata={"tenant_id": "t1"}
    )
    fetched = client.v1.subscriptions.retrieve(created["id"])
    item = fetched["items"].data[0]
    assert fetched.status == "active"
    assert item.id.startswith("si_")
    assert item.price.lookup_key == "inboxes_monthly"
    assert item.quantity == 2
    assert item.current_period_start == NOW
    assert item.current_period_end == NOW + 31 * DAY  # 2025-10-09 -> 2025-11-09
    assert "current_period_end" not in fetched
    assert fetched.cancellation_details is not None
    assert fetched.cancellation_details.reason is None

    sim.add_price("inboxes_yearly", interval="year", unit_amount=15000)
    clock.advance(60)
    sim.update_subscription(created["id"], lookup_key="inboxes_yearly", quantity=5)
    sim.update_subscription(created["id"], cancel_at_period_end=True)
    changed = client.v1.subscriptions.retrieve(created["id"])
    changed_item = changed["items"].data[0]
    assert (changed_item.price.lookup_key, changed_item.quantity) == ("inboxes_yearly", 5)
    assert changed.cancel_at_period_end is True
    assert changed.canceled_at == NOW + 60
    assert changed.cancel_at == NOW + 31 * DAY  # the period did not move by itself
    assert changed.status == "active"

    clock.advance(60)
    sim.update_subscription(created["id"], status="canceled", cancellation_reason="payment_failed")
    ended = client.v1.subscriptions.retrieve(created["id"])
    assert ended.status == "canceled"
    assert ended.ended_at == NOW + 120
    assert ended.canceled_at == NOW + 60
    assert ended.cancellation_details is not None
    assert ended.cancellation_details.reason == "payment_failed"


def test_subscriptions_are_listed_by_customer_and_status(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    mine, theirs = sim.add_customer()["id"], sim.add_customer()["id"]
    made = {
        status: sim.add_subscription(mine, "inboxes_monthly", status=status)["id"]
        for status in ("active", "canceled", "incomplete_expired", "past_due")
    }
    sim.add_subscription(theirs, "inboxes_monthly")

    def listed(**filters: str) -> list[str]:
        params: Any = {"customer": mine, **filters}
        return [s.id for s in client.v1.subscriptions.list(params=params)]

    newest_first = [made[s] for s in ("past_due", "incomplete_expired", "canceled", "active")]
    assert listed(status="all") == newest_first
    # Without a status, every one but the canceled ones (as Stripe lists them).
    assert listed() == [made["past_due"], made["incomplete_expired"], made["active"]]
    assert listed(status="ended") == [made["incomplete_expired"], made["canceled"]]
    assert listed(status="past_due") == [made["past_due"]]
    page = client.v1.subscriptions.list(params={"customer": mine, "status": "all", "limit": 3})
    assert (len(page.data), page.has_more) == (3, True)
    [item] = page.data[0]["items"].data
    assert item.price.lookup_key == "inboxes_monthly"
    with pytest.raises(stripe.InvalidRequestError) as no_customer:
        client.v1.subscriptions.list(params={"customer": "cus_missing"})
    assert (no_customer.value.code, no_customer.value.param) == ("resource_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as bad_status:
        client.v1.subscriptions.list(params={"customer": mine, "status": "live"})
    assert bad_status.value.param == "status"


def test_subscription_and_invoice_in_legacy_shape(
    legacy_sim: StripeSimulator,
) -> None:
    client = client_for(legacy_sim)
    customer = legacy_sim.add_customer(email="o@t.example")
    sub = legacy_sim.add_subscription(
        customer["id"], "inboxes_monthly", metadata={"tenant_id": "t1"}
    )
    invoice = legacy_sim.add_invoice(customer["id"], sub["id"], status="open", attempt_count=1)
    fetched = client.v1.subscriptions.retrieve(sub["id"]).to_dict()
    assert fetched["current_period_start"] == NOW
    assert fetched["current_period_end"] == NOW + 31 * DAY
    assert "current_period_end" not in fetched["items"]["data"][0]
    fetched_invoice = client.v1.invoices.retrieve(invoice["id"]).to_dict()
    assert fetched_invoice["subscription"] == sub["id"]
    assert fetched_invoice["subscription_details"] == {"metadata": {"tenant_id": "t1"}}
    assert "parent" not in fetched_invoice
    assert fetched_invoice["paid"] is False
    response = raw(legacy_sim, "GET", f"/v1/invoices/{invoice['id']}")
    assert response.headers["Stripe-Version"] == LEGACY_API_VERSION
    event = legacy_sim.event("invoice.payment_failed", fetched_invoice)
    assert event["api_version"] == LEGACY_API_VERSION
    assert event["id"].startswith("evt_")


def test_invoice_retrieve_shows_current_state_in_basil_shape(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    customer = sim.add_customer(email="billing@t.example")
    sub = sim.add_subscription(
        customer["id"], "inboxes_monthly", quantity=2, metadata={"tenant_id": "t1"}
    )
    invoice = sim.add_invoice(
        customer["id"], sub["id"], status="open", attempt_count=1, next_payment_attempt=NOW + DAY
    )
    fetched = client.v1.invoices.retrieve(invoice["id"])
    assert fetched.status == "open"
    assert fetched.amount_due == 3000
    assert fetched.amount_paid == 0
    assert fetched.attempt_count == 1
    assert fetched.next_payment_attempt == NOW + DAY
    assert fetched.customer_email == "billing@t.example"
    assert (
        fetched.hosted_invoice_url == f"https://invoice.stripe.com/i/acct_simulated/{invoice['id']}"
    )
    assert fetched.parent is not None
    assert fetched.parent.type == "subscription_details"
    assert fetched.parent.subscription_details is not None
    assert fetched.parent.subscription_details.subscription == sub["id"]
    assert "subscription" not in fetched.to_dict()

    sim.update_invoice(invoice["id"], status="paid")
    paid = client.v1.invoices.retrieve(invoice["id"])
    assert (paid.status, paid.amount_paid, paid.next_payment_attempt) == ("paid", 3000, None)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.retrieve("in_missing")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as missing_sub:
        client.v1.subscriptions.retrieve("sub_missing")
    assert missing_sub.value.user_message == "No such subscription: 'sub_missing'"


def test_setup_methods_refuse_unknown_changes_and_ids(sim: StripeSimulator) -> None:
    customer = sim.add_customer()
    sub = sim.add_subscription(customer["id"], "inboxes_monthly")
    with pytest.raises(TypeError, match="plan"):
        sim.update_subscription(sub["id"], plan="x")
    with pytest.raises(KeyError):
        sim.update_subscription("sub_missing", status="canceled")
    with pytest.raises(KeyError):
        sim.add_subscription(customer["id"], "no_such_lookup_key")
    with pytest.raises(ValueError, match="exists already"):
        sim.add_price("inboxes_monthly")


# ---- idempotency ----------------------------------------------------------------------------


def test_same_idempotency_key_and_body_replays_the_first_answer(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    params: Any = {"email": "a@t.example", "metadata": {"tenant_id": "t1"}}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "create-t1"})
    second = client.v1.customers.create(params=params, options={"idempotency_key": "create-t1"})
    assert first.id == second.id
    log = [(r.idempotency_key, r.replayed) for r in sim.request_log]
    assert log == [("create-t1", False), ("create-t1", True)]
    body = "email=a%40t.example&metadata[tenant_id]=t1"
    headers = {"Idempotency-Key": "create-t1", "Content-Type": "application/x-www-form-urlencoded"}
    replay = raw(sim, "POST", "/v1/customers", content=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.id
    fresh = raw(
        sim, "POST", "/v1/customers", content=body, headers={**headers, "Idempotency-Key": "other"}
    )
    assert fresh.json()["id"] != first.id
    assert "Idempotent-Replayed" not in fresh.headers


def test_same_idempotency_key_with_other_params_or_endpoint_is_refused(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    client.v1.customers.create(params={"email": "a@t.example"}, options={"idempotency_key": "k1"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create(
            params={"email": "b@t.example"}, options={"idempotency_key": "k1"}
        )
    assert caught.value.http_status == 400
    assert "can only be used with the same parameters" in (caught.value.user_message or "")
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params=checkout_params(price_id(sim, "inboxes_monthly")),
            options={"idempotency_key": "k1"},
        )


def test_idempotency_keys_are_forgotten_after_a_day(
    sim: StripeSimulator, client: stripe.StripeClient, clock: FakeClock
) -> None:
    first = client.v1.customers.create(
        params={"email": "a@t.example"}, options={"idempotency_key": "k2"}
    )
    clock.advance(DAY + 1)
    later = client.v1.customers.create(
        params={"email": "b@t.example"}, options={"idempotency_key": "k2"}
    )
    assert later.id != first.id
    assert later.email == "b@t.example"


def test_a_refused_validation_is_not_kept_under_the_key(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    price = price_id(sim, "inboxes_monthly")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(
            params=checkout_params(price, mode=None),
            options={"idempotency_key": "checkout-1"},
        )
    session = client.v1.checkout.sessions.create(
        params=checkout_params(price),
        options={"idempotency_key": "checkout-1"},
    )
    assert session.status == "open"


# ---- billing meter events -------------------------------------------------------------------


def meter_params(customer: str, identifier: str, timestamp: int | None = NOW) -> Any:
    params: dict[str, Any] = {
        "event_name": "emails_sent",
        "payload": {"stripe_customer_id": customer, "value": "12"},
        "identifier": identifier,
    }
    if timestamp is not None:
        params["timestamp"] = timestamp
    return params


def test_meter_event_is_recorded(sim: StripeSimulator, client: stripe.StripeClient) -> None:
    customer = sim.add_customer()["id"]
    event = client.v1.billing.meter_events.create(params=meter_params(customer, "t1:2025-10-09"))
    assert isinstance(event, stripe.billing.MeterEvent)
    assert event.to_dict() == {
        "object": "billing.meter_event",
        "created": NOW,
        "event_name": "emails_sent",
        "identifier": "t1:2025-10-09",
        "livemode": False,
        "payload": {"stripe_customer_id": customer, "value": "12"},
        "timestamp": NOW,
    }
    assert sim.meter_events == [event.to_dict()]
    defaulted = client.v1.billing.meter_events.create(
        params={
            "event_name": "emails_sent",
            "payload": {"stripe_customer_id": customer, "value": "1"},
        }
    )
    assert defaulted.identifier
    assert defaulted.timestamp == NOW


def test_repeated_meter_identifier_is_refused_and_not_recorded_twice(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    customer = sim.add_customer()["id"]
    client.v1.billing.meter_events.create(params=meter_params(customer, "usage-1"))
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.billing.meter_events.create(params=meter_params(customer, "usage-1"))
    assert caught.value.http_status == 400
    assert caught.value.user_message == "An event already exists with identifier usage-1."
    assert caught.value.code is None
    assert caught.value.headers is not None
    assert caught.value.headers.get("stripe-should-retry") == "false"
    assert [e["identifier"] for e in sim.meter_events] == ["usage-1"]


def test_meter_event_retry_under_the_same_idempotency_key_replays_success(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    customer = sim.add_customer()["id"]
    options: Any = {"idempotency_key": "meter-usage-2"}
    first = client.v1.billing.meter_events.create(
        params=meter_params(customer, "usage-2"), options=options
    )
    again = client.v1.billing.meter_events.create(
        params=meter_params(customer, "usage-2"), options=options
    )
    assert again.to_dict() == first.to_dict()
    assert len(sim.meter_events) == 1


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-35 * DAY, True),
        (-35 * DAY - 1, False),
        (300, True),
        (301, False),
    ],
)
def test_meter_event_timestamp_window(
    sim: StripeSimulator, client: stripe.StripeClient, offset: int, accepted: bool
) -> None:
    customer = sim.add_customer()["id"]
    params = meter_params(customer, f"window{offset}", timestamp=NOW + offset)
    if accepted:
        assert client.v1.billing.meter_events.create(params=params).timestamp == NOW + offset
        assert len(sim.meter_events) == 1
        return
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.billing.meter_events.create(params=params)
    assert caught.value.param == "timestamp"
    assert sim.meter_events == []


def test_meter_event_window_follows_the_injected_clock(
    sim: StripeSimulator, client: stripe.StripeClient, clock: FakeClock
) -> None:
    customer = sim.add_customer()["id"]
    clock.advance(36 * DAY)
    with pytest.raises(stripe.InvalidRequestError, match="35 days in past"):
        client.v1.billing.meter_events.create(params=meter_params(customer, "late"))


@pytest.mark.parametrize(
    ("drop", "param"),
    [("event_name", "event_name"), ("payload", "payload"), ("value", "payload[value]")],
)
def test_meter_event_required_params(
    sim: StripeSimulator, client: stripe.StripeClient, drop: str, param: str
) -> None:
    params = meter_params("cus_x", "req")
    if drop == "value":
        del params["payload"]["value"]
    else:
        del params[drop]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.billing.meter_events.create(params=params)
    assert (caught.value.code, caught.value.param) == ("parameter_missing", param)


# ---- faults ---------------------------------------------------------------------------------


def test_injected_500_and_429_fail_without_executing(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    sim.fail_next(500)
    sim.fail_next(429)
    with pytest.raises(stripe.APIError) as outage:
        client.v1.customers.create(params={"email": "a@t.example"})
    assert outage.value.http_status == 500
    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.customers.create(params={"email": "a@t.example"})
    assert limited.value.http_status == 429
    # The SDK's RateLimitError does not copy the code; the body carries it.
    body: Any = limited.value.json_body
    assert body["error"]["code"] == "rate_limit"
    assert sim.pending_faults() == 0
    created = client.v1.customers.create(params={"email": "a@t.example"})
    assert [r.status for r in sim.request_log] == [500, 429, 200]
    # The two failures created nothing: the only customer is the third request's.
    assert [c["id"] for c in sim.customers] == [created.id]


def test_fault_applies_only_to_its_path_and_times(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    customer = sim.add_customer()["id"]
    sim.fail_next(503, times=2, path="/v1/billing/meter_events")
    client.v1.customers.retrieve(customer)
    for identifier in ("a", "b"):
        with pytest.raises(stripe.APIError):
            client.v1.billing.meter_events.create(params=meter_params(customer, identifier))
    client.v1.billing.meter_events.create(params=meter_params(customer, "a"))
    assert [e["identifier"] for e in sim.meter_events] == ["a"]
    with pytest.raises(ValueError, match="status"):
        sim.fail_next(200)


def test_an_injected_4xx_names_the_parameter_it_refuses(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    price = price_id(sim, "inboxes_monthly")
    sim.fail_next(400, path="/v1/checkout/sessions", param="success_url", code="url_invalid")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(params=checkout_params(price))
    assert (refused.value.http_status, refused.value.param) == (400, "success_url")
    assert refused.value.code == "url_invalid"
    assert sim.checkout_sessions == []
    with pytest.raises(ValueError, match="4xx"):
        sim.fail_next(500, param="success_url")


def test_sdk_retries_through_a_500_with_one_key_and_creates_once(
    sim: StripeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe.HTTPClient, "_sleep_time_seconds", lambda self, n: 0.0)
    sim.fail_next(500, times=2, path="/v1/customers")
    client = client_for(sim, retries=2)
    created = client.v1.customers.create(params={"email": "retry@t.example"})
    log = sim.request_log
    assert [r.status for r in log] == [500, 500, 200]
    keys = {r.idempotency_key for r in log}
    assert len(keys) == 1
    assert None not in keys
    assert [c["id"] for c in sim.customers] == [created.id]


def test_should_retry_false_stops_the_sdk_from_retrying(
    sim: StripeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe.HTTPClient, "_sleep_time_seconds", lambda self, n: 0.0)
    sim.fail_next(500, times=3, should_retry=False)
    with pytest.raises(stripe.APIError):
        client_for(sim, retries=2).v1.customers.create()
    assert len(sim.request_log) == 1
    assert sim.pending_faults() == 1


# ---- what is recorded and logged ------------------------------------------------------------


def test_requests_record_method_and_path_but_never_the_key_or_body(
    sim: StripeSimulator, client: stripe.StripeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="local.stripe_sim")
    customer = client.v1.customers.create(params={"email": "secret-owner@t.example"})
    client.v1.prices.list(params={"lookup_keys": ["inboxes_monthly"]})
    assert sim.requests == [
        ("POST", "/v1/customers"),
        ("GET", "/v1/prices"),
    ]
    sim_logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("local"))
    assert "/v1/customers -> 200" in sim_logs
    assert API_KEY not in sim_logs
    assert "secret-owner" not in sim_logs
    assert customer.id not in repr(sim.request_log)


class _Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint that keeps what it was sent."""

    received: ClassVar[list[tuple[bytes, str | None]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((body, self.headers.get("Stripe-Signature")))
        answer = b'{"received": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_completed_checkout_is_sent_signed_to_each_webhook_endpoint(
    sim: StripeSimulator, client: stripe.StripeClient
) -> None:
    price = price_id(sim, "inboxes_monthly")
    first = client.v1.checkout.sessions.create(params=checkout_params(price))
    assert sim.complete_checkout(first.id)["status"] == "active"
    assert sim.deliveries == []  # no endpoint registered: nobody hears of it

    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sim.add_webhook_endpoint(f"http://127.0.0.1:{server.server_port}/hook", "whsec_one")
        sim.add_webhook_endpoint("http://127.0.0.1:9/closed", "whsec_two")  # nothing listens
        second = client.v1.checkout.sessions.create(params=checkout_params(price))
        subscription = sim.complete_checkout(second.id)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    answered, unreachable = sim.deliveries
    assert (answered.event_type, answered.status) == ("customer.subscription.created", 200)
    assert unreachable.status == 0
    assert answered.event_id == unreachable.event_id  # one event, sent to each endpoint
    ((body, header),) = _Receiver.received
    event = json.loads(body)
    assert event["id"] == answered.event_id
    assert event["data"]["object"]["id"] == subscription["id"]
    assert verify(body, header, lambda: ["whsec_one"], time.time()) > 0
    with pytest.raises(InvalidDelivery):
        verify(body, header, lambda: ["whsec_two"], time.time())
