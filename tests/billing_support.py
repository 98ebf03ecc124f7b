"""A billing world for integration tests: moto SQS (FIFO queue + DLQ), Secrets Manager and
SES, the Stripe simulator on loopback, and the real handlers found through template.yaml."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from inboxfleet.billing.ports import RecordingProvisioningStarter
from inboxfleet.billing.runtime import billing_deps
from inboxfleet.billing.worker import BillingDeps
from local.invoke import LocalContext, invoke
from local.sqs_event_source import DrainReport, drain
from local.stripe_sim.server import StripeSimulator
from local.template import functions, load_handler, load_template
from tests.aws_support import put_secret
from tests.leakcheck import register_secret
from tests.stripe_support import OLD_WEBHOOK_SECRET, WEBHOOK_SECRET

REGION = "us-east-1"
SENDER = "billing@inboxfleet.example"
MAX_RECEIVES = 3
STRIPE_API_KEY = "sk_test_local_billing_world"

for _secret in (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET, STRIPE_API_KEY):
    register_secret(_secret)


@dataclass
class BillingWorld:
    sqs: Any
    queue_url: str
    dlq_url: str
    stripe: StripeSimulator

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
    def starter(self) -> RecordingProvisioningStarter:
        return cast(RecordingProvisioningStarter, billing_deps().starter)

    @property
    def emails(self) -> list[Any]:
        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _worker_handler() -> Any:
    spec = next(s for s in functions(load_template()) if s.logical_id == "BillingEventsFunction")
    return load_handler(spec)


def invoke_worker(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = _worker_handler()(event, LocalContext("BillingEventsFunction"))
    return response


@contextmanager
def billing_world(
    monkeypatch: pytest.MonkeyPatch,
    webhook_secrets: tuple[str, ...] = (WEBHOOK_SECRET, OLD_WEBHOOK_SECRET),
) -> Iterator[BillingWorld]:
    with mock_aws(), StripeSimulator(STRIPE_API_KEY) as stripe_sim:
        for var, value in {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(var, value)
        suffix = secrets.token_hex(4)
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(
            QueueName=f"billing-dlq-{suffix}.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName=f"billing-{suffix}.fifo",
            Attributes={
                "FifoQueue": "true",
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}
                ),
            },
        )["QueueUrl"]
        webhook_secret_name = f"stripe-webhook-{suffix}"
        put_secret(webhook_secret_name, json.dumps(list(webhook_secrets)))
        api_key_name = f"stripe-key-{suffix}"
        put_secret(api_key_name, STRIPE_API_KEY)
        boto3.client("sesv2", region_name=REGION).create_email_identity(
            EmailIdentity="inboxfleet.example"
        )
        for var, value in {
            "STRIPE_WEBHOOK_SECRETS_SECRET": webhook_secret_name,
            "STRIPE_API_KEY_SECRET": api_key_name,
            "STRIPE_API_BASE": stripe_sim.base_url,
            "STRIPE_MAX_RETRIES": "0",
            "BILLING_EVENTS_QUEUE_URL": queue_url,
            "BILLING_REMINDER_SENDER": SENDER,
        }.items():
            monkeypatch.setenv(var, value)
        yield BillingWorld(sqs, queue_url, dlq_url, stripe_sim)
