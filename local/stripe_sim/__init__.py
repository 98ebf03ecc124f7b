"""A stateful Stripe v1 API simulator on loopback, and builders of Stripe objects (test tool).

It speaks what the platform uses of Stripe: customers, price lookup, Checkout Sessions (listed
by customer and status, expired), customer-portal sessions, subscription and invoice retrieval,
subscriptions listed by customer and status, billing meter events; form-encoded
bracket parameters, Bearer authentication, Idempotency-Key replay, Stripe's error bodies,
injected 429/5xx replies.
Objects come in the 2025-03-31.basil shape or, with `legacy_shapes=True`, the 2024-06-20 one.
Drive it with the real SDK: `stripe.StripeClient(key, base_addresses={"api": sim.base_url})`.
"""

from __future__ import annotations

from local.stripe_sim.errors import StripeError
from local.stripe_sim.faults import ErrorFault
from local.stripe_sim.objects import (
    API_VERSION,
    LEGACY_API_VERSION,
    checkout_session_object,
    customer_object,
    event_object,
    invoice_object,
    meter_event_object,
    portal_session_object,
    price_object,
    subscription_object,
)
from local.stripe_sim.server import RecordedRequest, StripeSimulator

__all__ = [
    "API_VERSION",
    "LEGACY_API_VERSION",
    "ErrorFault",
    "RecordedRequest",
    "StripeError",
    "StripeSimulator",
    "checkout_session_object",
    "customer_object",
    "event_object",
    "invoice_object",
    "meter_event_object",
    "portal_session_object",
    "price_object",
    "subscription_object",
]
