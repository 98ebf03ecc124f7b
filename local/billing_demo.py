"""The demo's billing step: a tenant pays through (simulated) Stripe Checkout, and the signed
webhook, the FIFO queue and the billing worker turn that into an entitled account and a released
inbox; a failed payment sends a reminder and a payment clears it. On the local cloud: Stripe's
deliveries are POSTed to its HTTP API, the billing worker is fed by the template's SQS event
source, the Stripe simulator answers over HTTP, moto holds SQS, Secrets Manager and SES."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from inboxfleet.billing.onboarding import CheckoutRequest, start_checkout
from inboxfleet.billing.plans import default_catalogue
from inboxfleet.billing.stripe_api import StripeApi
from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import BillingAccounts, Inboxes
from inboxfleet.settings import billing_settings_from_env
from local.billing_cloud import sent_emails
from local.cloud import LocalCloud
from local.recording_starter import RecordingStarter, record_starts
from local.stripe_samples import signature_header

PLAN = "growth_monthly"
HTTP_TIMEOUT_S = 30.0


def demo_billing(cloud: LocalCloud, tenant_id: UUID, say: Callable[[str], None]) -> None:
    # Released inboxes are shown, not provisioned: this part of the demo is about billing.
    with record_starts() as starter:
        _demo_billing(cloud, tenant_id, starter, say)


def _demo_billing(
    cloud: LocalCloud,
    tenant_id: UUID,
    starter: RecordingStarter,
    say: Callable[[str], None],
) -> None:
    webhook_secret = cloud.secrets.webhook_secrets[0]
    api = StripeApi(lambda: cloud.secrets.stripe_api_key, billing_settings_from_env())
    checkout = start_checkout(
        api,
        CheckoutRequest(
            tenant_id=tenant_id,
            plan=PLAN,
            success_url="https://app.inboxfleet.example/billing/done",
            cancel_url="https://app.inboxfleet.example/billing",
            request_id="demo-checkout-0001",
        ),
        default_catalogue(),
    )
    say(f"Checkout for {PLAN}: customer {checkout.customer_id}, {checkout.url}")
    subscription = cloud.stripe.complete_checkout(checkout.session_id)
    say(f"the customer pays: subscription {subscription['id']} is {subscription['status']}")

    created = cloud.stripe.event("customer.subscription.created", subscription)
    forged = _deliver(cloud, created, "whsec_not_stripes")
    say(f"a forged delivery -> {forged.status_code} {forged.json()['error']}")
    for label in ("Stripe's signed delivery", "the same delivery again"):
        answer = _deliver(cloud, created, webhook_secret)
        say(f"{label} -> {answer.status_code} {answer.json()['outcome']}")
    _apply(cloud, "customer.subscription.created", say)
    _show_account(tenant_id, say)
    _show_inboxes(tenant_id, starter, say)

    invoice = cloud.stripe.add_invoice(
        checkout.customer_id,
        subscription["id"],
        status="open",
        attempt_count=1,
        next_payment_attempt=int(time.time()) + 3 * 86_400,
    )
    _deliver(cloud, cloud.stripe.event("invoice.payment_failed", invoice), webhook_secret)
    _apply(cloud, "invoice.payment_failed", say)
    for email in sent_emails():
        say(f"SES reminder to {email.destinations['ToAddresses'][0]}: {email.subject}")
    _show_account(tenant_id, say)
    paid = cloud.stripe.update_invoice(invoice["id"], status="paid", attempt_count=2)
    _deliver(cloud, cloud.stripe.event("invoice.paid", paid), webhook_secret)
    _apply(cloud, "invoice.paid", say)
    _show_account(tenant_id, say)


def _deliver(cloud: LocalCloud, event: dict[str, Any], secret: str) -> httpx.Response:
    """POST the event to the HTTP API's webhook route, signed as Stripe signs it."""
    body = json.dumps(event)
    headers = {
        "content-type": "application/json; charset=utf-8",
        "stripe-signature": signature_header(body, secret, int(time.time())),
    }
    return httpx.post(
        f"{cloud.api_url}/webhooks/stripe", content=body, headers=headers, timeout=HTTP_TIMEOUT_S
    )


def _apply(cloud: LocalCloud, what: str, say: Callable[[str], None]) -> None:
    report = cloud.deliver_queued()
    say(f"billing_events: {what} -> {report.succeeded} applied, {report.failed} failed")


def _show_account(tenant_id: UUID, say: Callable[[str], None]) -> None:
    with tenant_session(tenant_id) as s:
        account = BillingAccounts(s).get()
    assert account is not None
    say(
        f"account: {account.subscription_status} on {account.plan}, "
        f"max {account.max_inboxes} inboxes / {account.max_domains} domains in locations "
        f"{account.allowed_locations}, payment {account.payment_state}"
    )


def _show_inboxes(tenant_id: UUID, starter: RecordingStarter, say: Callable[[str], None]) -> None:
    with tenant_session(tenant_id) as s:
        inboxes = Inboxes(s).list()
    for inbox in inboxes:
        say(f"inbox {inbox.address}: {inbox.status}, workflow {inbox.execution_name}")
    say(f"provisioning starts requested: {len(starter.started)}")
