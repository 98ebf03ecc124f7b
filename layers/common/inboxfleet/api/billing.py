"""/v1/billing: the tenant's plan, limits, usage and standing, as billing last derived them."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read them at run time.

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from inboxfleet.api.caller import caller
from inboxfleet.api.errors import responses
from inboxfleet.api.routing import Routes
from inboxfleet.api.runtime import ApiDeps, deps
from inboxfleet.lifecycles import PaymentState, SubscriptionStatus

routes = Routes()


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
    from inboxfleet.db import tenant_session
    from inboxfleet.db.repositories import BillingAccounts, Domains, Inboxes
    from inboxfleet.lifecycles import INBOXES_IN_USE, InboxStatus

    with tenant_session(tenant_id, database=deps.database) as s:
        account = BillingAccounts(s).get()
        inboxes = Inboxes(s)
        usage = Usage(
            inboxes_in_use=inboxes.count_in(INBOXES_IN_USE),
            inboxes_awaiting_payment=inboxes.count_by_status(InboxStatus.AWAITING_PAYMENT),
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
