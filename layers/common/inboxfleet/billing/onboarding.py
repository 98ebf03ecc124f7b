"""Onboarding: the tenant's Stripe customer (linked by metadata.tenant_id), a Checkout session
for a plan, and a customer-portal session for the customer the tenant already has. The tenant
API exposes them; the resulting subscription arrives as events."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from inboxfleet.billing.errors import BillingError, CustomerConflict, UnknownPlan
from inboxfleet.billing.plans import Catalogue
from inboxfleet.db.connection import Database
from inboxfleet.db.repositories import BillingAccounts, TenantProfile
from inboxfleet.db.sessions import tenant_session
from inboxfleet.records import BillingAccount, Tenant


class OnboardingApi(Protocol):
    def create_customer(
        self, *, email: str | None, name: str | None, tenant_id: str, idempotency_key: str
    ) -> dict[str, Any]: ...

    def price_by_lookup_key(self, lookup_key: str) -> dict[str, Any] | None: ...

    def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]: ...

    def open_checkout_sessions(self, customer_id: str) -> list[dict[str, Any]]: ...

    def create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]: ...

    def expire_checkout_session(self, session_id: str) -> dict[str, Any]: ...

    def create_portal_session(self, *, customer_id: str, return_url: str) -> dict[str, Any]: ...


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: UUID
    plan: str = Field(pattern=r"^[a-z0-9_]{1,64}$", description="price lookup_key")
    quantity: int = Field(default=1, ge=1, le=1000)
    success_url: AnyHttpUrl
    cancel_url: AnyHttpUrl
    # The caller's key for this request (e.g. the API request id): a retry reuses the session.
    request_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")


class Checkout(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    session_id: str
    url: str


class PortalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: UUID
    return_url: AnyHttpUrl


class Portal(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    session_id: str
    url: str  # a short-lived sign-in link to the customer's portal: hand it on, never keep it


# A new Checkout only when the tenant has no subscription or its last one has ended: an unpaid or
# paused one is paid or resumed, a live one changed (billing portal), never doubled.
SUBSCRIBED = frozenset({"active", "trialing", "past_due", "unpaid", "paused", "incomplete"})


class AlreadySubscribed(BillingError):
    """The tenant has a subscription that is not over: plan changes go through the portal."""


class CheckoutSuperseded(BillingError):
    """Another checkout of the tenant, started at the same moment, expired this one: neither
    is known to be the one to pay, so the caller asks again."""


class QuantityNotApplicable(BillingError):
    """A quantity other than 1 for a plan billed by usage (Stripe refuses any quantity on a
    metered price)."""


class NoCustomer(BillingError):
    """The tenant has no Stripe customer yet (it never started a checkout): it has no portal."""


def ensure_customer(api: OnboardingApi, tenant_id: UUID, database: Database | None = None) -> str:
    """The tenant's Stripe customer id, creating and linking the customer the first time
    (idempotent: Stripe replays a creation with the same key, and the link is one row)."""
    account, tenant = _account_and_tenant(tenant_id, database)
    return _customer_of(api, tenant_id, account, tenant, database)


def _account_and_tenant(
    tenant_id: UUID, database: Database | None
) -> tuple[BillingAccount | None, Tenant]:
    with tenant_session(tenant_id, database=database) as session:
        return BillingAccounts(session).get(), TenantProfile(session).get()


def _customer_of(
    api: OnboardingApi,
    tenant_id: UUID,
    account: BillingAccount | None,
    tenant: Tenant,
    database: Database | None,
) -> str:
    if account is not None and account.stripe_customer_id:
        return account.stripe_customer_id
    customer = api.create_customer(
        email=tenant.billing_email,
        name=tenant.name,
        tenant_id=str(tenant_id),
        idempotency_key=f"customer-{tenant_id}",
    )
    customer_id = str(customer["id"])
    with tenant_session(tenant_id, database=database) as session:
        linked = BillingAccounts(session).link_customer(customer_id)
    if linked is None:
        raise CustomerConflict(f"tenant {tenant_id} was linked to another customer meanwhile")
    return customer_id


def start_checkout(
    api: OnboardingApi,
    request: CheckoutRequest,
    catalogue: Catalogue,
    database: Database | None = None,
) -> Checkout:
    """A Checkout session for the plan, the only one of the tenant's customer that can still be
    paid: one tenant never gets two subscriptions, whoever asks how often.

    Our database learns of a subscription by webhook, so it is asked first (no Stripe call for a
    tenant it knows to be subscribed) and Stripe, the source of truth, last. The session is made
    before the others are expired, so a retry (Stripe replays the session under the request's
    key) keeps its own session open; and Stripe's subscriptions are read after that, so a
    session paid at any moment before is seen (a session open when the others were listed was
    expired, or was paid first and its subscription is listed). A tenant subscribed meanwhile
    gets AlreadySubscribed and the new session is expired too."""
    plan = catalogue.plan(request.plan)  # only plans we can honour are sold
    if plan.metered and request.quantity != 1:
        raise QuantityNotApplicable(f"plan {request.plan} is billed by usage: it takes no quantity")
    account, tenant_row = _account_and_tenant(request.tenant_id, database)
    if account is not None and account.subscription_status in SUBSCRIBED:
        raise AlreadySubscribed(
            f"tenant {request.tenant_id} already has a subscription "
            f"({account.subscription_status}): change or pay it instead"
        )
    customer_id = _customer_of(api, request.tenant_id, account, tenant_row, database)
    price = api.price_by_lookup_key(request.plan)
    if price is None:
        raise UnknownPlan(f"Stripe has no active price with lookup_key {request.plan!r}")
    tenant = str(request.tenant_id)
    item: dict[str, Any] = {"price": price["id"]}
    if (price.get("recurring") or {}).get("usage_type") != "metered":
        item["quantity"] = request.quantity  # Stripe refuses one on a metered price
    checkout = api.create_checkout_session(
        {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": tenant,
            "line_items": [item],
            "subscription_data": {"metadata": {"tenant_id": tenant}},
            "metadata": {"tenant_id": tenant},
            "success_url": str(request.success_url),
            "cancel_url": str(request.cancel_url),
        },
        idempotency_key=f"checkout-{tenant}-{request.request_id}",
    )
    session_id = str(checkout["id"])
    for other in api.open_checkout_sessions(customer_id):
        if other["id"] != session_id:
            api.expire_checkout_session(str(other["id"]))
    # A checkout made at the same moment may have expired this one in turn (or this is the
    # replay of an old one): only a session still open is worth sending the customer to.
    if session_id not in {str(s["id"]) for s in api.open_checkout_sessions(customer_id)}:
        raise CheckoutSuperseded(
            f"tenant {request.tenant_id}'s checkout session {session_id} was expired by "
            "another checkout started at the same time"
        )
    live = [s["status"] for s in api.subscriptions_of(customer_id) if s["status"] in SUBSCRIBED]
    if live:
        api.expire_checkout_session(session_id)
        raise AlreadySubscribed(
            f"tenant {request.tenant_id}'s Stripe customer has a subscription ({live[0]}): "
            "change or pay it instead"
        )
    return Checkout(customer_id=customer_id, session_id=session_id, url=str(checkout["url"]))


def start_portal(
    api: OnboardingApi, request: PortalRequest, database: Database | None = None
) -> Portal:
    """A customer-portal session for the tenant's customer (card, invoices, plan changes).
    A tenant that never started a checkout has no customer, and none is made for it here."""
    with tenant_session(request.tenant_id, database=database) as db:
        account = BillingAccounts(db).get()
    if account is None or not account.stripe_customer_id:
        raise NoCustomer(f"tenant {request.tenant_id} has no Stripe customer yet")
    session = api.create_portal_session(
        customer_id=account.stripe_customer_id, return_url=str(request.return_url)
    )
    return Portal(
        customer_id=account.stripe_customer_id,
        session_id=str(session["id"]),
        url=str(session["url"]),
    )
