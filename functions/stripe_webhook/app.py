"""Stripe webhook Lambda (POST /webhooks/stripe, HTTP API payload 2.0): verify, queue, answer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.billing.runtime import webhook_deps
from inboxfleet.billing.webhook import receive
from inboxfleet.observability import metered_lambda_entry


@metered_lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return receive(event, webhook_deps())
