"""Checkout and customer-portal sessions over real HTTP through the local cloud (start-api, the
JWT authorizer, real PostgreSQL, the Stripe simulator behind the real SDK): the URLs come from
Stripe and name the tenant's customer and plan, Idempotency-Key replays the session, and every
refusal (a plan outside the catalogue, a live subscription, a bad return URL, no customer yet,
Stripe down) is a clear 4xx or 503 that creates nothing, at Stripe or here."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import BillingAccounts, TenantDirectory
from local.cloud import LocalCloud
from local.standing import set_standing
from tests.tenant_api_support import error, http_event

CHECKOUT = "/v1/billing/checkout"
PORTAL = "/v1/billing/portal"
# Stripe puts the session id in place of the template: it must reach Stripe as written.
SUCCESS_URL = "https://app.example.com/billing/done?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://localhost:3000/billing"  # plain http: only this machine
RETURN_URL = "https://app.example.com/settings/billing"


@dataclass(frozen=True)
class Tenant:
    id: UUID
    token: str


def new_tenant(cloud: LocalCloud, standing: str | None = None) -> Tenant:
    """A tenant that never checked out, or one whose account billing left `entitled` or
    `suspended` (linked to a customer id the Stripe simulator does not know)."""
    with system_session("test.billing_sessions") as s:
        tenant = TenantDirectory(s).create(f"Co {uuid4().hex[:6]}", "ops@co.example")
    if standing is not None:
        set_standing(tenant.id, standing)
    return Tenant(tenant.id, cloud.token(tenant.id))


def post(
    cloud: LocalCloud, path: str, tenant: Tenant, body: Any, *, key: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {tenant.token}", "content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    return httpx.post(
        f"{cloud.api_url}{path}", headers=headers, content=json.dumps(body).encode(), timeout=60
    )


def checkout_body(**changes: Any) -> dict[str, Any]:
    body = {
        "plan": "growth_monthly",
        "quantity": 3,
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
    }
    return {**body, **changes}


def account_of(tenant: Tenant) -> dict[str, Any] | None:
    with tenant_session(tenant.id) as s:
        account = BillingAccounts(s).get()
    return None if account is None else account.model_dump()


def idempotency_rows(cloud: LocalCloud, tenant: Tenant) -> int:
    with psycopg.connect(cloud.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM idempotency_records WHERE tenant_id = %s", (tenant.id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def stripe_state(cloud: LocalCloud) -> dict[str, int]:
    """What the Stripe simulator holds and was asked, to prove a refusal reached nothing."""
    sim = cloud.stripe
    return {
        "requests": len(sim.requests),
        "customers": len(sim.customers),
        "checkout_sessions": len(sim.checkout_sessions),
        "portal_sessions": len(sim.portal_sessions),
    }


# ---- POST /v1/billing/checkout ---------------------------------------------------------------


def test_checkout_is_a_stripe_session_for_the_tenants_customer_and_plan(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    answer = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-1")
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"url", "session_id", "customer_id"}

    session = cloud.stripe.checkout_session(body["session_id"])
    assert session["url"] == body["url"]
    assert body["url"].startswith("https://checkout.stripe.com/")
    assert (session["customer"], session["client_reference_id"]) == (
        body["customer_id"],
        str(tenant.id),
    )
    assert session["metadata"] == {"tenant_id": str(tenant.id)}
    assert (session["success_url"], session["cancel_url"]) == (SUCCESS_URL, CANCEL_URL)
    customer = cloud.stripe.customer(body["customer_id"])
    assert customer["metadata"] == {"tenant_id": str(tenant.id)}
    account = account_of(tenant)
    assert account is not None
    assert account["stripe_customer_id"] == body["customer_id"]

    # The same key and body: the same session, answered from our record without asking Stripe.
    asked = len(cloud.stripe.requests)
    again = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-1")
    assert (again.status_code, again.json()) == (201, body)
    assert len(cloud.stripe.requests) == asked
    # Without a key each request is its own session, for the same customer (and the only one
    # that can still be paid).
    other = post(cloud, CHECKOUT, tenant, checkout_body()).json()
    assert other["session_id"] != body["session_id"]
    assert other["customer_id"] == body["customer_id"]
    assert [c["id"] for c in cloud.stripe.customers if c["metadata"] == customer["metadata"]] == [
        body["customer_id"]
    ]

    # Paying on the hosted page yields the plan's price, in the quantity asked, for the tenant.
    subscription = cloud.stripe.complete_checkout(other["session_id"])
    [item] = subscription["items"]["data"]
    assert (item["price"]["lookup_key"], item["quantity"]) == ("growth_monthly", 3)
    assert subscription["metadata"] == {"tenant_id": str(tenant.id)}


def test_a_retry_whose_answer_was_lost_gets_the_session_stripe_made(cloud: LocalCloud) -> None:
    """Stripe's idempotency key is derived from the client's: when our record of the answer is
    gone (the function died after Stripe made the session), the retry still gets that session."""
    tenant = new_tenant(cloud)
    first = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-lost").json()
    with psycopg.connect(cloud.database_url, autocommit=True) as owner:
        owner.execute("DELETE FROM idempotency_records WHERE tenant_id = %s", (tenant.id,))
    sessions = stripe_state(cloud)["checkout_sessions"]
    retried = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-lost")
    assert (retried.status_code, retried.json()) == (201, first)
    assert stripe_state(cloud)["checkout_sessions"] == sessions
    # The retry keeps its own session payable.
    assert cloud.stripe.checkout_session(first["session_id"])["status"] == "open"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"plan": "platinum_monthly"}, "body.plan"),
        ({"plan": ""}, "body.plan"),
        ({"quantity": 0}, "body.quantity"),
        ({"quantity": 1001}, "body.quantity"),
        ({"quantity": "2"}, "body.quantity"),
        ({"coupon": "FREE"}, "body.coupon"),
        ({"success_url": "javascript:alert(document.cookie)"}, "body.success_url"),
        ({"success_url": "data:text/html,<script>alert(1)</script>"}, "body.success_url"),
        ({"success_url": "ftp://files.example.com/done"}, "body.success_url"),
        ({"success_url": "//app.example.com/done"}, "body.success_url"),
        ({"success_url": "https:///done"}, "body.success_url"),
        ({"success_url": "https://user:secret@app.example.com/"}, "body.success_url"),
        ({"success_url": "https://app.example.com:99999/"}, "body.success_url"),
        ({"success_url": "https://app.example.com/" + "a" * 2048}, "body.success_url"),
        ({"cancel_url": "http://app.example.com/billing"}, "body.cancel_url"),
        ({"cancel_url": "http://localhost.evil.example/"}, "body.cancel_url"),
        ({"cancel_url": "http://localhost@evil.example/"}, "body.cancel_url"),
        ({"cancel_url": None}, "body.cancel_url"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_bad_checkout_is_a_422_naming_the_field_and_creates_nothing(
    cloud: LocalCloud, changes: dict[str, Any], field: str
) -> None:
    tenant = new_tenant(cloud)
    before = stripe_state(cloud)
    body = {k: v for k, v in checkout_body(**changes).items() if v is not None}
    answer = post(cloud, CHECKOUT, tenant, body, key="co-bad")
    assert answer.status_code == 422, answer.text
    assert (error(answer)["code"], error(answer)["field"]) == ("invalid_request", field)
    assert stripe_state(cloud) == before
    assert account_of(tenant) is None
    assert idempotency_rows(cloud, tenant) == 0


def test_an_unknown_plan_names_the_plans_there_are(cloud: LocalCloud) -> None:
    answer = post(cloud, CHECKOUT, new_tenant(cloud), checkout_body(plan="platinum_monthly"))
    assert "starter_monthly" in error(answer)["message"]


@pytest.mark.parametrize("standing", ["entitled", "suspended"])
def test_a_tenant_whose_subscription_is_not_over_is_sent_to_the_portal(
    cloud: LocalCloud, standing: str
) -> None:
    tenant = new_tenant(cloud, standing)
    account = account_of(tenant)
    before = stripe_state(cloud)
    answer = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-subscribed")
    assert answer.status_code == 409, answer.text
    assert error(answer)["code"] == "already_subscribed"
    assert "POST /v1/billing/portal" in error(answer)["message"]
    assert stripe_state(cloud) == before
    assert account_of(tenant) == account
    assert idempotency_rows(cloud, tenant) == 0


def test_stripe_down_is_a_503_that_records_nothing_and_the_same_key_then_works(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    before = stripe_state(cloud)
    # The API's client does not retry (its time is short): the client retries, with its key.
    cloud.stripe.fail_next(500, method="POST", path="/v1/customers")
    answer = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-down")
    assert answer.status_code == 503, answer.text
    assert error(answer)["code"] == "unavailable"
    assert "try again" in error(answer)["message"]
    assert cloud.stripe.pending_faults() == 0
    after = stripe_state(cloud)
    assert {k: v for k, v in after.items() if k != "requests"} == {
        k: v for k, v in before.items() if k != "requests"
    }
    assert account_of(tenant) is None
    assert idempotency_rows(cloud, tenant) == 0

    again = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-down")
    assert again.status_code == 201, again.text


def sessions_of(cloud: LocalCloud, customer_id: str) -> dict[str, str]:
    """The customer's Checkout sessions at Stripe: id -> status."""
    return {
        s["id"]: s["status"] for s in cloud.stripe.checkout_sessions if s["customer"] == customer_id
    }


def test_of_two_checkouts_only_the_last_can_be_paid(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    first = post(cloud, CHECKOUT, tenant, checkout_body()).json()
    second = post(cloud, CHECKOUT, tenant, checkout_body()).json()
    assert sessions_of(cloud, first["customer_id"]) == {
        first["session_id"]: "expired",
        second["session_id"]: "open",
    }
    with pytest.raises(ValueError, match="expired"):
        cloud.stripe.complete_checkout(first["session_id"])
    subscription = cloud.stripe.complete_checkout(second["session_id"])
    assert subscription["metadata"] == {"tenant_id": str(tenant.id)}


def test_checkouts_at_once_leave_at_most_one_session_that_can_be_paid(cloud: LocalCloud) -> None:
    """A double click sends two requests without a key: whatever their interleaving, no two
    sessions of the customer stay open, and one whose session was expired meanwhile by another
    is told so (409) instead of being given a dead URL."""
    tenant = new_tenant(cloud)
    customer_id = post(cloud, CHECKOUT, tenant, checkout_body()).json()["customer_id"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: post(cloud, CHECKOUT, tenant, checkout_body()), range(4)))
    assert {a.status_code for a in answers} <= {201, 409}
    statuses = sessions_of(cloud, customer_id)
    assert len(statuses) == 5
    assert list(statuses.values()).count("open") <= 1
    # Every answer's session was open when it was given: a 201 is never a dead URL unless a
    # later checkout replaced it (and then that one is the open one).
    given = [a.json()["session_id"] for a in answers if a.status_code == 201]
    opened = [s for s, state in statuses.items() if state == "open"]
    assert opened == [] or opened[0] in given
    for refused in (a for a in answers if a.status_code == 409):
        assert error(refused)["code"] == "conflict"


@pytest.mark.parametrize(
    ("status", "answered"),
    [("active", 409), ("past_due", 409), ("incomplete", 409), ("canceled", 201)],
)
def test_a_subscription_stripe_has_before_we_hear_of_it_is_already_subscribed(
    cloud: LocalCloud, status: str, answered: int
) -> None:
    """Our database learns of a subscription by webhook: until then Stripe, the source of
    truth, still keeps the tenant from a second subscription."""
    tenant = new_tenant(cloud)
    first = post(cloud, CHECKOUT, tenant, checkout_body()).json()
    customer_id = first["customer_id"]
    cloud.stripe.add_subscription(customer_id, "growth_monthly", status=status)
    assert account_of(tenant) is not None
    answer = post(cloud, CHECKOUT, tenant, checkout_body(), key=f"co-{status}")
    assert answer.status_code == answered, answer.text
    statuses = sessions_of(cloud, customer_id)
    if answered == 409:
        assert error(answer)["code"] == "already_subscribed"
        assert "POST /v1/billing/portal" in error(answer)["message"]
        assert "open" not in statuses.values()  # the first and the one made meanwhile: expired
        assert idempotency_rows(cloud, tenant) == 0
    else:
        assert [s for s, state in statuses.items() if state == "open"] == [
            answer.json()["session_id"]
        ]


@pytest.mark.parametrize("field", ["success_url", "cancel_url"])
def test_a_url_stripe_refuses_is_a_422_naming_it(cloud: LocalCloud, field: str) -> None:
    tenant = new_tenant(cloud)
    cloud.stripe.fail_next(
        400, method="POST", path="/v1/checkout/sessions", param=field, code="url_invalid"
    )
    answer = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-url")
    assert answer.status_code == 422, answer.text
    assert (error(answer)["code"], error(answer)["field"]) == ("invalid_request", f"body.{field}")
    assert cloud.stripe.pending_faults() == 0
    assert idempotency_rows(cloud, tenant) == 0


def test_a_return_url_stripe_refuses_is_a_422_naming_it(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    assert post(cloud, CHECKOUT, tenant, checkout_body()).status_code == 201
    cloud.stripe.fail_next(400, path="/v1/billing_portal/sessions", param="return_url")
    answer = post(cloud, PORTAL, tenant, {"return_url": RETURN_URL})
    assert answer.status_code == 422, answer.text
    assert error(answer)["field"] == "body.return_url"


def test_anything_else_stripe_refuses_for_good_is_our_bug_not_try_again(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    cloud.stripe.fail_next(
        400, method="POST", path="/v1/checkout/sessions", param="line_items[0][price]"
    )
    answer = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-ours")
    assert answer.status_code == 500, answer.text
    assert error(answer)["code"] == "internal_error"
    assert "line_items" not in answer.text
    assert idempotency_rows(cloud, tenant) == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [("STRIPE_TIMEOUT_S", "soon"), ("STRIPE_API_KEY_SECRET", "")],
    ids=["invalid-setting", "no-key-secret"],
)
def test_broken_billing_settings_are_a_500_in_the_one_error_shape(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    tenant = new_tenant(cloud)
    monkeypatch.setenv(variable, value)  # the local cloud runs the function in this process
    answer = post(cloud, CHECKOUT, tenant, checkout_body(), key="co-settings")
    assert answer.status_code == 500, answer.text
    assert error(answer)["code"] == "internal_error"
    assert account_of(tenant) is None
    assert idempotency_rows(cloud, tenant) == 0


@pytest.fixture
def silent_stripe() -> Iterator[str]:
    """An address that takes connections and never answers (the kernel accepts them into the
    listening socket's backlog; nothing reads them)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_silent_stripe_is_a_503_well_inside_the_functions_time(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch, silent_stripe: str
) -> None:
    """The function times out after 15 s: the API's Stripe calls give up before that (2 s for
    each stage of a call, no retry), so the client gets a 503 it may retry, not a gateway
    timeout. (The bound checked is the function's own time-out, not a speed.)"""
    tenant = new_tenant(cloud)
    monkeypatch.setenv("STRIPE_API_BASE", silent_stripe)
    started = time.monotonic()
    answer = post(cloud, CHECKOUT, tenant, checkout_body())
    waited = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert error(answer)["code"] == "unavailable"
    assert waited < 15, f"the checkout waited {waited:.1f} s for a silent Stripe"
    assert account_of(tenant) is None


def test_no_stripe_call_is_started_that_could_outlast_the_function(cloud: LocalCloud) -> None:
    """Called in process with 3 s left: a call that may take 6 s would end after the
    function's time-out, so none is made."""
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from inboxfleet.api.resolver import serve
    from local.invoke import LocalContext

    tenant = new_tenant(cloud)
    asked = len(cloud.stripe.requests)
    event = http_event("POST", CHECKOUT, tenant.id, body=checkout_body())
    context = LocalContext("TenantApiFunction", remaining_ms=3_000, clock=lambda: 0.0, started=0.0)
    answer = serve(event, cast("LambdaContext", context))
    assert answer["statusCode"] == 503, answer
    assert json.loads(answer["body"])["error"]["code"] == "unavailable"
    assert len(cloud.stripe.requests) == asked


def test_the_session_answers_say_no_cache_keeps_them(cloud: LocalCloud) -> None:
    document = httpx.get(f"{cloud.api_url}/v1/openapi.json", timeout=30).json()
    for path in (CHECKOUT, PORTAL):
        created = document["paths"][path]["post"]["responses"]["201"]
        assert created["headers"]["Cache-Control"]["description"] == "no-store", path


# ---- POST /v1/billing/portal -----------------------------------------------------------------


def test_a_tenant_with_a_customer_gets_a_portal_session_from_stripe(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    customer_id = post(cloud, CHECKOUT, tenant, checkout_body()).json()["customer_id"]
    answer = post(cloud, PORTAL, tenant, {"return_url": RETURN_URL})
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert set(answer.json()) == {"url"}
    session = cloud.stripe.portal_sessions[-1]
    assert answer.json()["url"] == session["url"]
    assert session["url"].startswith("https://billing.stripe.com/")
    assert (session["customer"], session["return_url"]) == (customer_id, RETURN_URL)

    # A local app may be sent back to over plain http; every call is a new sign-in link.
    local = post(cloud, PORTAL, tenant, {"return_url": "http://127.0.0.1:8080/billing"})
    assert local.status_code == 201, local.text
    assert local.json()["url"] != answer.json()["url"]
    assert cloud.stripe.portal_sessions[-1]["return_url"] == "http://127.0.0.1:8080/billing"
    assert idempotency_rows(cloud, tenant) == 0  # a sign-in link is never stored


def test_a_tenant_that_never_checked_out_has_no_portal(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    before = stripe_state(cloud)
    answer = post(cloud, PORTAL, tenant, {"return_url": RETURN_URL})
    assert answer.status_code == 409, answer.text
    assert error(answer)["code"] == "no_billing_account"
    assert "POST /v1/billing/checkout" in error(answer)["message"]
    assert stripe_state(cloud) == before  # no customer is made for it
    assert account_of(tenant) is None


def test_a_customer_stripe_does_not_know_is_no_billing_account(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud, "entitled")  # linked to a customer id the simulator never made
    answer = post(cloud, PORTAL, tenant, {"return_url": RETURN_URL})
    assert answer.status_code == 409, answer.text
    assert error(answer)["code"] == "no_billing_account"
    assert "support" in error(answer)["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"return_url": "javascript:alert(1)"},
        {"return_url": "http://app.example.com/"},
        {"return_url": RETURN_URL, "customer": "cus_someone_else"},
    ],
    ids=["missing", "javascript", "plain-http", "extra-field"],
)
def test_a_bad_portal_request_is_a_422_and_asks_stripe_nothing(
    cloud: LocalCloud, body: dict[str, Any]
) -> None:
    tenant = new_tenant(cloud)
    before = stripe_state(cloud)
    answer = post(cloud, PORTAL, tenant, body)
    assert answer.status_code == 422, answer.text
    assert error(answer)["field"] in {"body.return_url", "body.customer"}
    assert stripe_state(cloud) == before


def test_stripe_down_is_a_503_for_the_portal_too(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    assert post(cloud, CHECKOUT, tenant, checkout_body()).status_code == 201
    portals = stripe_state(cloud)["portal_sessions"]
    cloud.stripe.fail_next(503, path="/v1/billing_portal/sessions")
    answer = post(cloud, PORTAL, tenant, {"return_url": RETURN_URL})
    assert answer.status_code == 503, answer.text
    assert error(answer)["code"] == "unavailable"
    assert cloud.stripe.pending_faults() == 0
    assert stripe_state(cloud)["portal_sessions"] == portals
