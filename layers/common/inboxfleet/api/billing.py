"""/v1/billing: the tenant's plan, limits, usage and standing, as billing last derived them;
/v1/billing/checkout and /v1/billing/portal: Stripe's hosted pages to subscribe and to manage
the subscription (card, invoices, plan), through the onboarding service (`billing_sessions`)."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read them at run time.

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict

from inboxfleet.api.admission import CHECKOUT_PATH
from inboxfleet.api.billing_sessions import (
    PORTAL_PATH,
    CheckoutBody,
    CheckoutView,
    PortalBody,
    PortalView,
)
from inboxfleet.api.caller import caller
from inboxfleet.api.errors import WITH_BODY, responses
from inboxfleet.api.posting import IDEMPOTENCY_KEY, NO_STORE, answer, json_response, once
from inboxfleet.api.routing import Routes
from inboxfleet.api.runtime import ApiDeps, deps
from inboxfleet.lifecycles import PaymentState, SubscriptionStatus

routes = Routes()
_CREATED = HTTPStatus.CREATED


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_inboxes: int
    max_domains: int
    allowed_locations: list[str]


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    inboxes_in_use: int  # what max_inboxes counts: queued, provisioning, active
    inboxes_awaiting_payment: int
    domains: int  # not removed: what max_domains counts


class BillingView(BaseModel):
    """No subscription yet: plan and status are null and the limits zero."""

    model_config = ConfigDict(frozen=True)

    plan: str | None
    subscription_status: SubscriptionStatus | None
    payment_state: PaymentState
    quantity: int
    current_period_end: datetime | None
    teardown_after: datetime | None  # a canceled subscription's data goes after this
    limits: Limits
    usage: Usage


def describe_billing(tenant_id: UUID, deps: ApiDeps) -> BillingView:
    from inboxfleet.api.inbox_service import occupancy
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import BillingAccounts, Domains, Inboxes

    with tenant_session(tenant_id, database=deps.database) as s:
        account = BillingAccounts(s).get()
        counted = occupancy(Inboxes(s))
        usage = Usage(
            inboxes_in_use=counted.in_use,
            inboxes_awaiting_payment=counted.awaiting_payment,
            domains=Domains(s).count_live(),
        )
    if account is None:
        return BillingView(
            plan=None,
            subscription_status=None,
            payment_state=PaymentState.OK,
            quantity=0,
            current_period_end=None,
            teardown_after=None,
            limits=Limits(max_inboxes=0, max_domains=0, allowed_locations=[]),
            usage=usage,
        )
    return BillingView(
        plan=account.plan,
        subscription_status=account.subscription_status,
        payment_state=account.payment_state,
        quantity=account.quantity,
        current_period_end=account.current_period_end,
        teardown_after=account.teardown_after,
        limits=Limits(
            max_inboxes=account.max_inboxes,
            max_domains=account.max_domains,
            allowed_locations=list(account.allowed_locations),
        ),
        usage=usage,
    )


@routes.get(
    "/v1/billing",
    summary="The plan, its limits, what is used of them, and the payment standing",
    tags=["billing"],
    responses={200: {"description": "The tenant's billing"}, **responses()},
)
def get_billing() -> BillingView:
    return describe_billing(caller(), deps())


def _session_responses(model: type[BaseModel], description: str) -> dict[int, Any]:
    # A session's URL opens Stripe's page for this customer: no cache keeps it.
    declared = {
        **answer(_CREATED, model, description, headers=NO_STORE),
        **responses(HTTPStatus.CONFLICT, *WITH_BODY),
    }
    unavailable = int(HTTPStatus.SERVICE_UNAVAILABLE)
    declared[unavailable] = {
        **declared[unavailable],
        "description": "The database or the payment provider (Stripe) cannot be reached now; "
        "try again later",
    }
    return declared


@routes.post(
    CHECKOUT_PATH,
    summary="A Stripe Checkout page for a plan of the catalogue: the tenant's subscription",
    description="201 with the hosted page's `url` (send the customer there), the session and "
    "the tenant's Stripe customer (made on its first checkout). The new session is the only "
    "one of the tenant that can be paid: any earlier open one is expired. A tenant whose "
    "subscription is not over (as we know it, or as Stripe does) is a 409 `already_subscribed`: "
    f"plan changes and payments go through `POST {PORTAL_PATH}`. The same Idempotency-Key and "
    "body answer the same session again. A URL Stripe refuses is a 422 naming it.",
    tags=["billing"],
    responses=_session_responses(CheckoutView, "The Checkout session, open for payment"),
)
def post_checkout(
    request: Annotated[CheckoutBody, Body()],
    idempotency_key: IDEMPOTENCY_KEY = None,
) -> Response[CheckoutView]:
    from inboxfleet.api.billing_sessions import onboarding_request_id, start_checkout

    tenant_id = caller()
    payload = request.model_dump(mode="json")
    request_id = onboarding_request_id(idempotency_key, payload)
    return once(
        tenant_id,
        CHECKOUT_PATH,
        idempotency_key,
        payload,
        lambda: start_checkout(tenant_id, request, request_id, deps()),
        status=_CREATED,
        headers=NO_STORE,
    )


@routes.post(
    PORTAL_PATH,
    summary="A Stripe customer-portal session: card, invoices, plan and cancellation",
    description="201 with a short-lived sign-in `url` to the portal of the tenant's Stripe "
    "customer, which sends the customer back to `return_url`. A tenant that never started a "
    f"checkout has no customer: a 409 `no_billing_account` (`POST {CHECKOUT_PATH}` first). "
    "Each call makes a new session; the answer, a sign-in link, is never stored, so "
    "Idempotency-Key does not apply here. A `return_url` Stripe refuses is a 422 naming it.",
    tags=["billing"],
    responses=_session_responses(PortalView, "The portal session"),
)
def post_portal(request: Annotated[PortalBody, Body()]) -> Response[PortalView]:
    from inboxfleet.api.billing_sessions import open_portal

    portal = open_portal(caller(), request, deps())
    return json_response(_CREATED, portal.model_dump(mode="json"), NO_STORE)
