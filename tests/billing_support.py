"""A billing world for integration tests: moto SQS (FIFO queue + DLQ), Secrets Manager and
SES, the Stripe simulator on loopback, and the real handlers found through template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from inboxfleet.billing.runtime import billing_deps
from inboxfleet.billing.worker import BillingDeps
from local.billing_cloud import SENDER, billing_cloud, sent_emails
from local.invoke import LocalContext, handler, invoke
from local.recording_starter import RecordingStarter, record_starts
from local.sqs_event_source import DrainReport, drain
from local.stripe_sim.server import StripeSimulator
from tests.leakcheck import register_secret
from tests.stripe_support import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET

__all__ = ["SENDER", "BillingWorld", "billing_world", "invoke_worker"]
STRIPE_API_KEY = "sk_test_local_billing_world"

for _secret in (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET, STRIPE_API_KEY):
    register_secret(_secret)


@dataclass
class BillingWorld:
    sqs: Any
    queue_url: str
    dlq_url: str
    stripe: StripeSimulator
    starter: RecordingStarter
    max_receives: int  # the queue's redrive policy (template.yaml)

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = invoke("StripeWebhookFunction", event)
        return response

    def drain(self) -> DrainReport:
        return drain(self.sqs, self.queue_url, _worker_handler())

    def queued(self, url: str | None = None) -> list[dict[str, Any]]:
        """Messages visible in a queue (left in place: visibility reset)."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url or self.queue_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            found.extend(batch)
        for message in found:
            self.sqs.change_message_visibility(
                QueueUrl=url or self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
        return found

    @property
    def deps(self) -> BillingDeps:
        return billing_deps()

    @property
    def emails(self) -> list[Any]:
        return sent_emails()


def _worker_handler() -> Any:
    return handler("BillingEventsFunction")


def invoke_worker(event: dict[str, Any], remaining_ms: int = 300_000) -> dict[str, Any]:
    # Time stands still: the worker sees exactly `remaining_ms` (the boundary tests need that).
    context = LocalContext(
        "BillingEventsFunction", remaining_ms=remaining_ms, clock=lambda: 0.0, started=0.0
    )
    response: dict[str, Any] = _worker_handler()(event, context)
    return response


@contextmanager
def billing_world(
    monkeypatch: pytest.MonkeyPatch,
    webhook_secrets: tuple[str, ...] = (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET),
) -> Iterator[BillingWorld]:
    with billing_cloud(webhook_secrets, STRIPE_API_KEY) as cloud:
        for var, value in cloud.env.items():
            monkeypatch.setenv(var, value)
        with record_starts() as starter:
            yield BillingWorld(
                cloud.sqs, cloud.queue_url, cloud.dlq_url, cloud.stripe, starter, cloud.max_receives
            )
