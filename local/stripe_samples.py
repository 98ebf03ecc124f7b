"""The Stripe sample events in events/: written from one definition, so the webhook's signed
requests and the worker's queued messages always carry the same events.

    python -m local.stripe_samples            # rewrite the files
    python -m local.stripe_samples --check    # exit 1 if a file is out of date

Every event is about the sample tenant's customer (local/samples.py), so after seeding it the
files answer for real. The webhook requests are signed with LOCAL_WEBHOOK_SECRET at a fixed
time; Stripe refuses signatures older than 300 s, so `python -m local.invoke --resign` signs
them afresh (with the same local secret) when invoking.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from local.samples import SAMPLE_TENANT_ID
from local.stripe_sim import webhooks
from local.stripe_sim.objects import event_object, invoice_object, price_object, subscription_object
from local.template import REPO_ROOT

# Published with the samples, so it is no secret: never put it in a deployed secret list.
LOCAL_WEBHOOK_SECRET = "whsec_local_samples_only_not_a_real_secret"  # noqa: S105
SAMPLE_CUSTOMER = "cus_SampleAcme01"
SAMPLE_SUBSCRIPTION = "sub_SampleAcme01"
SAMPLE_INVOICE = "in_SampleAcme01"
SIGNED_AT = 1_795_000_000
WEBHOOK_DIR = REPO_ROOT / "events" / "StripeWebhookFunction"
WORKER_DIR = REPO_ROOT / "events" / "BillingEventsFunction"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:inboxfleet-local-billing-events.fifo"
_TENANT = {"tenant_id": str(SAMPLE_TENANT_ID)}
_PERIOD_END = 1_797_000_000


def _subscription(
    status: str = "active", plan: str = "growth_monthly", **kw: Any
) -> dict[str, Any]:
    return subscription_object(
        id=SAMPLE_SUBSCRIPTION,
        customer=SAMPLE_CUSTOMER,
        status=status,
        created=1_794_000_000,
        price=price_object(id=f"price_{plan}", lookup_key=plan),
        quantity=kw.pop("quantity", 1),
        metadata=_TENANT,
        current_period_start=_PERIOD_END - 30 * 86_400,
        current_period_end=_PERIOD_END,
        **kw,
    )


def _invoice(status: str, attempt_count: int, invoice_id: str = SAMPLE_INVOICE) -> dict[str, Any]:
    return invoice_object(
        id=invoice_id,
        customer=SAMPLE_CUSTOMER,
        subscription=SAMPLE_SUBSCRIPTION,
        status=status,
        created=1_794_100_000,
        amount_due=4900,
        amount_paid=4900 if status == "paid" else 0,
        attempt_count=attempt_count,
        next_payment_attempt=None if status == "paid" else 1_794_400_000,
        hosted_invoice_url=f"https://invoice.stripe.com/i/acct_sample/{invoice_id}",
        customer_email="billing@acme-outreach.example",
        subscription_metadata=_TENANT,
    )


def sample_events() -> dict[str, dict[str, Any]]:
    """File stem -> Stripe event, in the order they would happen."""
    events = {
        "subscription_created": ("customer.subscription.created", _subscription(), 1_794_000_010),
        "subscription_updated": (
            "customer.subscription.updated",
            _subscription(plan="inbox_seat_monthly", quantity=3),
            1_794_050_000,
        ),
        "invoice_payment_failed": ("invoice.payment_failed", _invoice("open", 1), 1_794_100_010),
        "invoice_payment_succeeded": (
            "invoice.payment_succeeded",
            _invoice("paid", 2),
            1_794_300_000,
        ),
        "invoice_paid": ("invoice.paid", _invoice("paid", 2), 1_794_300_000),
        "subscription_paused": (
            "customer.subscription.paused",
            _subscription(status="paused", plan="inbox_seat_monthly", quantity=3),
            1_794_400_000,
        ),
        "subscription_resumed": (
            "customer.subscription.resumed",
            _subscription(plan="inbox_seat_monthly", quantity=3),
            1_794_450_000,
        ),
        "invoice_voided": (
            "invoice.voided",
            _invoice("void", 1, "in_SampleAcme02"),
            1_794_500_000,
        ),
        "invoice_marked_uncollectible": (
            "invoice.marked_uncollectible",
            _invoice("uncollectible", 4, "in_SampleAcme03"),
            1_794_600_000,
        ),
        "subscription_deleted": (
            "customer.subscription.deleted",
            _subscription(
                status="canceled",
                plan="inbox_seat_monthly",
                quantity=3,
                canceled_at=1_796_000_000,
                ended_at=1_796_000_000,
                cancellation_reason="cancellation_requested",
            ),
            1_796_000_000,
        ),
        "customer_updated": (
            "customer.updated",
            {"id": SAMPLE_CUSTOMER, "object": "customer", "metadata": _TENANT},
            1_796_100_000,
        ),
    }
    return {
        stem: event_object(
            id=f"evt_Sample{n:02d}{stem.title().replace('_', '')}", type=type_, created=at, obj=obj
        )
        for n, (stem, (type_, obj, at)) in enumerate(events.items(), start=1)
    }


def signature_header(body: str, secret: str = LOCAL_WEBHOOK_SECRET, at: int = SIGNED_AT) -> str:
    return webhooks.signature_header(body, secret, at)


def webhook_request(
    body: str, signature: str | None, *, base64_encoded: bool = False
) -> dict[str, Any]:
    """POST /webhooks/stripe as API Gateway's HTTP API (payload format 2.0) hands it over
    (`signature` None: a request without the Stripe-Signature header)."""
    headers = {
        "content-type": "application/json; charset=utf-8",
        "stripe-signature": signature,
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/stripe",
        "rawPath": "/webhooks/stripe",
        "rawQueryString": "",
        "headers": {name: value for name, value in headers.items() if value is not None},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "http": {
                "method": "POST",
                "path": "/webhooks/stripe",
                "protocol": "HTTP/1.1",
                "sourceIp": "3.18.12.63",
                "userAgent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
            "requestId": "sample-request",
            "routeKey": "POST /webhooks/stripe",
            "stage": "$default",
            "timeEpoch": SIGNED_AT * 1000,
        },
        "body": base64.b64encode(body.encode()).decode() if base64_encoded else body,
        "isBase64Encoded": base64_encoded,
    }


def resign(request: dict[str, Any], secret: str = LOCAL_WEBHOOK_SECRET) -> dict[str, Any]:
    """The same request signed now (its body untouched)."""
    headers = dict(request.get("headers") or {})
    headers["stripe-signature"] = signature_header(request["body"], secret, int(time.time()))
    return {**request, "headers": headers}


def queue_batch(stem: str, event: dict[str, Any], body: str) -> dict[str, Any]:
    """The SQS FIFO batch Lambda hands billing_events for one queued event."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"inboxfleet-sample-{stem}")),
                "receiptHandle": f"sample-receipt-{stem}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(event["created"] * 1000),
                    "SequenceNumber": f"{event['created']}000000000000",
                    "MessageGroupId": SAMPLE_CUSTOMER,
                    "SenderId": "AIDASAMPLE",
                    "MessageDeduplicationId": event["id"],
                    "ApproximateFirstReceiveTimestamp": str(event["created"] * 1000),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
        ]
    }


def rendered() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for stem, event in sample_events().items():
        body = json.dumps(event, indent=2) + "\n"
        files[WEBHOOK_DIR / f"{stem}.json"] = (
            json.dumps(webhook_request(body, signature_header(body)), indent=2) + "\n"
        )
        if stem != "customer_updated":  # never queued: the webhook records it as ignored
            files[WORKER_DIR / f"{stem}.json"] = (
                json.dumps(queue_batch(stem, event, body), indent=2) + "\n"
            )
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.stripe_samples")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = [p for p, text in rendered().items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(REPO_ROOT)}")
        return 1 if stale else 0
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(rendered())} files ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
