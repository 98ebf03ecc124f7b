"""The AWS and Stripe side of billing on one machine: moto's SQS (the FIFO queue and its
dead-letter queue), Secrets Manager (the webhook signing secrets and the Stripe key) and SES
(a verified sender domain), and the Stripe simulator on loopback.

`env` holds the settings that point the billing functions at them; callers put it in the
environment (the demo in its own process, tests through monkeypatch).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
SENDER_DOMAIN = "inboxfleet.example"
SENDER = f"billing@{SENDER_DOMAIN}"


@dataclass
class BillingCloud:
    sqs: Any
    queue_url: str
    dlq_url: str
    stripe: Any  # local.stripe_sim.StripeSimulator
    env: dict[str, str]


@contextmanager
def billing_cloud(
    webhook_secrets: Sequence[str], stripe_api_key: str, max_receives: int = 3
) -> Iterator[BillingCloud]:
    # moto and boto3 load only when a local billing cloud is really started.
    import boto3
    from moto import mock_aws

    from local.stripe_sim.server import StripeSimulator

    with mock_aws(), StripeSimulator(stripe_api_key) as stripe_sim:
        suffix = secrets.token_hex(4)
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(
            QueueName=f"billing-events-dlq-{suffix}.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName=f"billing-events-{suffix}.fifo",
            Attributes={
                "FifoQueue": "true",
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
                ),
            },
        )["QueueUrl"]
        secrets_manager = boto3.client("secretsmanager", region_name=REGION)
        webhook_secret_name = f"stripe-webhook-secrets-{suffix}"
        secrets_manager.create_secret(
            Name=webhook_secret_name, SecretString=json.dumps(list(webhook_secrets))
        )
        api_key_name = f"stripe-api-key-{suffix}"
        secrets_manager.create_secret(Name=api_key_name, SecretString=stripe_api_key)
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=SENDER_DOMAIN)
        env = {
            "AWS_DEFAULT_REGION": REGION,
            "STRIPE_WEBHOOK_SECRETS_SECRET": webhook_secret_name,
            "STRIPE_API_KEY_SECRET": api_key_name,
            "STRIPE_API_BASE": stripe_sim.base_url,
            "STRIPE_MAX_RETRIES": "0",
            "BILLING_EVENTS_QUEUE_URL": queue_url,
            "BILLING_DEAD_LETTER_QUEUE_URL": dlq_url,
            "BILLING_REMINDER_SENDER": SENDER,
        }
        yield BillingCloud(sqs, queue_url, dlq_url, stripe_sim, env)


def sent_emails() -> list[Any]:
    """What SES (moto) has sent: objects with source, destinations, subject and body."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)
