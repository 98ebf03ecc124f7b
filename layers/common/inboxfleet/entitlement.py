"""What a tenant's subscriptions entitle it to: limits and standing. Pure.

Billing derives it (inboxfleet.billing.state); the billing account row stores it. It lives here,
below both, so the data layer never depends on billing.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from inboxfleet.lifecycles import PaymentState, SubscriptionStatus, SuspensionReason
from inboxfleet.locations import LocationSlug


class Limits(BaseModel):
    """What a subscription's items add up to (quantity multiplies each plan's limits)."""

    model_config = ConfigDict(frozen=True)

    max_inboxes: int = 0
    max_domains: int = 0
    allowed_locations: tuple[LocationSlug, ...] = ()
    meter_event_name: str | None = None

    @property
    def metered(self) -> bool:
        return self.meter_event_name is not None


class Entitlement(BaseModel):
    """What the tenant may use now, derived from all its subscriptions and invoices."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str | None
    subscription_status: SubscriptionStatus | None
    plan: str | None
    quantity: int
    limits: Limits
    current_period_end: datetime | None
    payment_state: PaymentState
    entitled: bool
    suspension_reason: SuspensionReason | None  # why inboxes must be suspended, if they must
    teardown_after: datetime | None
