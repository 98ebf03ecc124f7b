"""The AWS and Stripe side of billing alone, for tests and benchmarks that bring their own
database: template.yaml deployed into moto exactly as the local cloud deploys it (the FIFO queue
and its dead-letter queue, the secrets, the SES identity) and the Stripe simulator on loopback.

`env` holds the functions' environment from the template plus the Stripe simulator's address;
callers put it in the environment (the demo in its own process, tests through monkeypatch).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local.account import REGION
from local.cloud import (
    SENDER,
    SENDER_DOMAIN,
    LocalSecrets,
    deploy_stack,
    function_environment,
    local_parameters,
)
from local.template import load_template

__all__ = ["SENDER", "SENDER_DOMAIN", "BillingCloud", "billing_cloud", "sent_emails"]
# Parameters billing never reads: placeholders that resolve, like a stack deployed without them.
_UNUSED_DATABASE = "postgresql://billing-cloud-uses-the-callers-database@/unused"
_UNUSED_ENDPOINT = "http://127.0.0.1:9"


@dataclass
class BillingCloud:
    sqs: Any
    queue_url: str
    dlq_url: str
    stripe: Any  # local.stripe_sim.StripeSimulator
    env: dict[str, str]
    max_receives: int  # the queue's redrive policy, as template.yaml sets it


@contextmanager
def billing_cloud(webhook_secrets: Sequence[str], stripe_api_key: str) -> Iterator[BillingCloud]:
    # moto and boto3 load only when a local billing cloud is really started.
    import json

    import boto3
    from moto import mock_aws

    from local.stepfunctions import MOTO_CONFIG
    from local.stripe_sim.server import StripeSimulator

    with mock_aws(config=MOTO_CONFIG), StripeSimulator(stripe_api_key) as stripe_sim:
        parameters = local_parameters(
            database_url=_UNUSED_DATABASE,
            local_secrets=LocalSecrets(stripe_api_key, tuple(webhook_secrets)),
            issuer_url=_UNUSED_ENDPOINT,
            resolvers="127.0.0.1:53",
        )
        deployed = deploy_stack(load_template(), parameters)
        resources = deployed.stack.resources
        queue_url = resources["BillingEventsQueue"].ref
        sqs = boto3.client("sqs", region_name=REGION)
        redrive = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
        env = {
            **function_environment(deployed.functions().values()),
            "AWS_DEFAULT_REGION": REGION,
            "STRIPE_API_BASE": stripe_sim.base_url,
            "STRIPE_MAX_RETRIES": "0",
        }
        yield BillingCloud(
            sqs=sqs,
            queue_url=queue_url,
            dlq_url=resources["BillingEventsDeadLetterQueue"].ref,
            stripe=stripe_sim,
            env=env,
            max_receives=int(json.loads(redrive["Attributes"]["RedrivePolicy"])["maxReceiveCount"]),
        )


def sent_emails() -> list[Any]:
    """What SES (moto) has sent: objects with source, destinations, subject and body."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)
