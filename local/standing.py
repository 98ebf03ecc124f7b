"""A tenant's billing standing set directly, as billing would derive it from Stripe: for tests,
benchmarks and local tools that need an entitled (or suspended) tenant without a checkout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from inboxfleet.billing.plans import default_catalogue
from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import BillingAccounts
from inboxfleet.entitlement import Entitlement, Limits
from inboxfleet.lifecycles import PaymentState, SubscriptionStatus


def set_standing(
    tenant_id: UUID,
    standing: str,
    max_inboxes: int = 10,
    *,
    plan: str = "starter",
    limits: Limits | None = None,
) -> None:
    """`entitled`: an active subscription allowing max_inboxes on 5 domains in the starter
    plan's locations (or exactly `limits`); `suspended`: its subscription unpaid."""
    entitled = standing == "entitled"
    # The starter plan's locations (billing/plans.json), with the limits a test asks for.
    locations = default_catalogue().plan("starter_monthly").allowed_locations
    allowed = limits or Limits(
        max_inboxes=max_inboxes, max_domains=5, allowed_locations=tuple(locations)
    )
    if not entitled:
        allowed = allowed.model_copy(update={"max_inboxes": 0})
    with tenant_session(tenant_id) as s:
        accounts = BillingAccounts(s)
        accounts.link_customer(f"cus_{tenant_id.hex[:12]}")
        accounts.save_entitlement(
            Entitlement(
                subscription_id=f"sub_{tenant_id.hex[:12]}",
                subscription_status=SubscriptionStatus.ACTIVE
                if entitled
                else SubscriptionStatus.UNPAID,
                plan=plan,
                quantity=1,
                limits=allowed,
                current_period_end=datetime.now(UTC) + timedelta(days=30),
                payment_state=PaymentState.OK if entitled else PaymentState.SUSPENDED,
                entitled=entitled,
                suspension_reason=None if entitled else "non_payment",
                teardown_after=None,
            )
        )
