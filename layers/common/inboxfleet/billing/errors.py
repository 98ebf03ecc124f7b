"""Billing errors. Their class names are what logs, metrics and the DLQ reason show."""

from __future__ import annotations


class BillingError(Exception):
    """Base of every billing failure."""


class InvalidDelivery(BillingError):
    """A webhook delivery we refuse (400): bad signature, stale, not an event. Never retried
    usefully by Stripe, never queued."""


class QueueUnavailable(BillingError):
    """The verified event could not be queued: answer 5xx so Stripe delivers it again."""


class InvalidEventMessage(BillingError):
    """A queued message that is not a Stripe event we can read (poison: parked in the DLQ)."""


class UnknownCustomer(BillingError):
    """No tenant is linked to the event's Stripe customer, and nothing in the event or the
    customer's metadata links one. Retried (the link may land), then the DLQ."""


class CustomerConflict(BillingError):
    """The customer's metadata names a tenant already linked to another customer."""


class UnknownPlan(BillingError):
    """A subscription item's price lookup_key is not in the plan catalogue."""


class StripeUnavailable(BillingError):
    """Stripe's API failed or timed out (after the SDK's own retries)."""


class StripeRefused(BillingError):
    """Stripe refused a request for good (a 4xx other than a rate limit: invalid parameters, a
    bad key, a reused idempotency key): the same request can never pass. `param` is the
    parameter Stripe named, if any (e.g. `success_url`: the caller's URL; anything else: ours)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class CustomerMissing(BillingError):
    """Stripe has no customer with the id the tenant is linked to (deleted in the dashboard, or
    an id from another Stripe account or mode): nothing the tenant can repair by retrying."""
