"""Stripe test data: signed webhook deliveries and events built with the simulator's object
builders (the shapes the real API sends), in the current or the legacy shape."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import stripe

from local.stripe_samples import webhook_request
from local.stripe_sim.objects import (
    event_object,
    invoice_object,
    price_object,
    subscription_object,
)

WEBHOOK_SECRET = "whsec_test_current_0123456789abcdef"
OLD_WEBHOOK_SECRET = "whsec_test_previous_0123456789abcd"
PERIOD_END = 1_798_761_600  # 2027-01-01T00:00:00Z


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header made by Stripe's own helper."""
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=int(time.time()) if timestamp is None else timestamp
    )
    return header


def delivery(payload: dict[str, Any] | str, **sign_kw: Any) -> dict[str, Any]:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return webhook_request(body, sign(body, **sign_kw))


_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}{next(_ids)}"


@dataclass
class Customer:
    """One Stripe customer's objects, and events about them."""

    tenant_id: str | None
    customer_id: str = field(default_factory=lambda: new_id("cus"))
    subscription_id: str = field(default_factory=lambda: new_id("sub"))
    created: int = 1_790_000_000
    legacy: bool = False

    def subscription(
        self,
        *,
        status: str = "active",
        plan: str | None = "growth_monthly",
        quantity: int = 1,
        period_end: int = PERIOD_END,
        ended_at: int | None = None,
        cancellation_reason: str | None = None,
        metadata: bool = True,
    ) -> dict[str, Any]:
        return subscription_object(
            id=self.subscription_id,
            customer=self.customer_id,
            status=status,
            created=self.created,
            price=price_object(id=f"price_{plan or 'unnamed'}", lookup_key=plan),
            quantity=quantity,
            metadata={"tenant_id": self.tenant_id} if metadata and self.tenant_id else {},
            current_period_start=period_end - 30 * 86_400,
            current_period_end=period_end,
            canceled_at=ended_at,
            ended_at=ended_at,
            cancellation_reason=cancellation_reason,
            legacy=self.legacy,
        )

    def invoice(
        self,
        invoice_id: str,
        *,
        status: str = "open",
        attempt_count: int = 1,
        amount_due: int = 4900,
        next_payment_attempt: int | None = PERIOD_END - 20 * 86_400,
        created: int | None = None,
        customer_email: str | None = None,
    ) -> dict[str, Any]:
        return invoice_object(
            id=invoice_id,
            customer=self.customer_id,
            subscription=self.subscription_id,
            status=status,
            created=self.created if created is None else created,
            amount_due=amount_due,
            amount_paid=amount_due if status == "paid" else 0,
            attempt_count=attempt_count,
            next_payment_attempt=None if status == "paid" else next_payment_attempt,
            hosted_invoice_url=f"https://invoice.stripe.com/i/acct_test/{invoice_id}",
            customer_email=customer_email,
            subscription_metadata={"tenant_id": self.tenant_id} if self.tenant_id else {},
            legacy=self.legacy,
        )

    def event(
        self, type_: str, obj: dict[str, Any], created: int, event_id: str | None = None
    ) -> dict[str, Any]:
        return event_object(
            id=event_id or new_id("evt"), type=type_, created=created, obj=obj, legacy=self.legacy
        )
