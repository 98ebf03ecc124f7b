"""Pure builders of Stripe API objects as JSON-ready dicts, in two API versions' shapes.

The simulator renders its state through these, and tests build webhook payloads with them, so a
field the platform reads here is one the real API sends. Shapes follow the API reference and the
typed resources of stripe-python 16 (stripe/_subscription.py, _invoice.py, _event.py, ...):

- `API_VERSION` ("basil", 2025-03-31): the billing period lives on each subscription item
  (`items.data[].current_period_start/end`), and an invoice names its subscription at
  `parent.subscription_details.subscription` (changelog "adds new parent field to invoicing
  objects": the top-level `subscription` and `subscription_details` are gone).
- `LEGACY_API_VERSION` (2024-06-20): the period is on the subscription itself, the invoice has a
  top-level `subscription` and `subscription_details: {metadata}`, plus `paid`, `charge`, ...

Fields the platform never reads are included with the values a fresh test-mode object has, so the
objects look like real ones to anything that validates them; not every field exists here.
Everything is deterministic: no clock, no randomness (ids and timestamps are parameters).
"""

from __future__ import annotations

from typing import Any

API_VERSION = "2025-03-31.basil"  # current shape
LEGACY_API_VERSION = "2024-06-20"  # older shape (period on the subscription, invoice.subscription)

# A price's own creation time is not a parameter (nothing reads it); a fixed past instant keeps
# the builders pure.
PRICE_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z
ACCOUNT_NAME = "Inboxfleet (test)"


def _suffix(object_id: str) -> str:
    """The random part of a Stripe id ("sub_1Abc" -> "1Abc"): derived ids stay stable per object."""
    return object_id.split("_", 1)[-1] if "_" in object_id else object_id


def price_object(
    *,
    id: str,
    lookup_key: str | None,
    product: str = "prod_inboxes",
    unit_amount: int = 1500,
    currency: str = "usd",
    interval: str = "month",
    usage_type: str = "licensed",
    active: bool = True,
) -> dict[str, Any]:
    """A recurring per-unit price."""
    return {
        "id": id,
        "object": "price",
        "active": active,
        "billing_scheme": "per_unit",
        "created": PRICE_CREATED,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": {
            "interval": interval,
            "interval_count": 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": usage_type,
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def _plan_from_price(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy `plan` view every subscription item still carries next to its `price`."""
    recurring = price.get("recurring") or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price.get("active", True),
        "amount": price.get("unit_amount"),
        "amount_decimal": price.get("unit_amount_decimal"),
        "billing_scheme": price.get("billing_scheme", "per_unit"),
        "created": price.get("created", PRICE_CREATED),
        "currency": price.get("currency", "usd"),
        "interval": recurring.get("interval", "month"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": False,
        "metadata": {},
        "meter": recurring.get("meter"),
        "nickname": None,
        "product": price.get("product"),
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": recurring.get("usage_type", "licensed"),
    }


def customer_object(
    *,
    id: str,
    email: str | None,
    name: str | None,
    metadata: dict[str, str],
    created: int,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": _suffix(id)[:8].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(metadata),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def subscription_object(
    *,
    id: str,
    customer: str,
    status: str,
    created: int,
    price: dict[str, Any],
    quantity: int,
    metadata: dict[str, str],
    current_period_start: int,
    current_period_end: int,
    cancel_at_period_end: bool = False,
    canceled_at: int | None = None,
    ended_at: int | None = None,
    cancellation_reason: str | None = None,
    legacy: bool = False,
) -> dict[str, Any]:
    """A one-item subscription. The item id is derived from the subscription id, so the same
    subscription always shows the same `si_` id."""
    item: dict[str, Any] = {
        "id": f"si_{_suffix(id)}",
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "discounts": [],
        "metadata": {},
        "plan": _plan_from_price(price),
        "price": dict(price),
        "quantity": quantity,
        "subscription": id,
        "tax_rates": [],
    }
    if not legacy:
        item["current_period_start"] = current_period_start
        item["current_period_end"] = current_period_end
    subscription: dict[str, Any] = {
        "id": id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": current_period_start,
        "billing_cycle_anchor_config": None,
        "billing_thresholds": None,
        # Stripe sets cancel_at to the period end when cancel_at_period_end is requested.
        "cancel_at": current_period_end if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": {"comment": None, "feedback": None, "reason": cancellation_reason},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": price.get("currency", "usd"),
        "customer": customer,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": ended_at,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": [item],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
    if legacy:
        subscription["current_period_start"] = current_period_start
        subscription["current_period_end"] = current_period_end
        subscription["discount"] = None
    return subscription


def invoice_object(
    *,
    id: str,
    customer: str,
    subscription: str | None,
    status: str,
    created: int,
    amount_due: int,
    amount_paid: int,
    currency: str = "usd",
    attempt_count: int = 0,
    next_payment_attempt: int | None = None,
    hosted_invoice_url: str | None = None,
    customer_email: str | None = None,
    billing_reason: str = "subscription_cycle",
    subscription_metadata: dict[str, str] | None = None,
    legacy: bool = False,
) -> dict[str, Any]:
    finalized = status != "draft"
    sub_metadata = dict(subscription_metadata) if subscription_metadata is not None else None
    invoice: dict[str, Any] = {
        "id": id,
        "object": "invoice",
        "account_country": "US",
        "account_name": ACCOUNT_NAME,
        "account_tax_ids": None,
        "amount_due": amount_due,
        "amount_overpaid": 0,
        "amount_paid": amount_paid,
        "amount_remaining": max(amount_due - amount_paid, 0),
        "amount_shipping": 0,
        "application": None,
        "attempt_count": attempt_count,
        "attempted": attempt_count > 0,
        "auto_advance": status in {"draft", "open"},
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer,
        "customer_address": None,
        "customer_email": customer_email,
        "customer_name": None,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": created if finalized else None,
        "ending_balance": 0 if finalized else None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": hosted_invoice_url,
        "invoice_pdf": f"{hosted_invoice_url}/pdf" if hosted_invoice_url else None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/invoices/{id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": next_payment_attempt,
        "number": f"{_suffix(customer)[:8].upper()}-0001" if finalized else None,
        "on_behalf_of": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": created,
        "period_start": created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": status,
        "status_transitions": {
            "finalized_at": created if finalized else None,
            "marked_uncollectible_at": created if status == "uncollectible" else None,
            "paid_at": created if status == "paid" else None,
            "voided_at": created if status == "void" else None,
        },
        "subtotal": amount_due,
        "subtotal_excluding_tax": amount_due,
        "test_clock": None,
        "total": amount_due,
        "total_discount_amounts": [],
        "total_excluding_tax": amount_due,
        "webhooks_delivered_at": created,
    }
    if legacy:
        invoice.update(
            {
                "charge": None,
                "discount": None,
                "paid": status == "paid",
                "paid_out_of_band": False,
                "payment_intent": None,
                "quote": None,
                "subscription": subscription,
                "subscription_details": {"metadata": sub_metadata},
                "tax": None,
                "total_tax_amounts": [],
            }
        )
        del invoice["amount_overpaid"]
    else:
        invoice["parent"] = (
            {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": sub_metadata,
                    "subscription": subscription,
                },
            }
            if subscription is not None
            else None
        )
        invoice["total_pretax_credit_amounts"] = []
        invoice["total_taxes"] = []
    return invoice


def event_object(
    *,
    id: str,
    type: str,
    created: int,
    obj: dict[str, Any],
    legacy: bool = False,
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event wrapping `obj` (already built in the matching shape). `previous_attributes` is
    only present when given: Stripe includes it only on `*.updated` events."""
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": id,
        "object": "event",
        "api_version": LEGACY_API_VERSION if legacy else API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def checkout_session_object(
    *,
    id: str,
    url: str,
    mode: str,
    customer: str | None,
    client_reference_id: str | None,
    metadata: dict[str, str],
    success_url: str | None,
    cancel_url: str | None,
    created: int,
    expires_at: int,
    currency: str | None = "usd",
    amount_total: int | None = None,
) -> dict[str, Any]:
    """An open hosted Checkout Session, as `POST /v1/checkout/sessions` answers it."""
    return {
        "id": id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_creation": None if customer else "always",
        "customer_details": None,
        "customer_email": None,
        "discounts": [],
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": dict(metadata),
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url,
    }


def portal_session_object(
    *,
    id: str,
    url: str,
    customer: str,
    return_url: str | None,
    created: int,
    configuration: str,
    locale: str | None = None,
) -> dict[str, Any]:
    """A customer-portal session, as `POST /v1/billing_portal/sessions` answers it."""
    return {
        "id": id,
        "object": "billing_portal.session",
        "configuration": configuration,
        "created": created,
        "customer": customer,
        "flow": None,
        "livemode": False,
        "locale": locale,
        "on_behalf_of": None,
        "return_url": return_url,
        "url": url,
    }


def meter_event_object(
    *,
    event_name: str,
    identifier: str,
    payload: dict[str, str],
    timestamp: int,
    created: int,
) -> dict[str, Any]:
    """A billing meter event as `POST /v1/billing/meter_events` answers it (it has no `id`)."""
    return {
        "object": "billing.meter_event",
        "created": created,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": dict(payload),
        "timestamp": timestamp,
    }


def list_object(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url}
