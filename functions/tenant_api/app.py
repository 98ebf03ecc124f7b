"""Tenant API Lambda: the resolver of inboxfleet.api, behind the HTTP API's JWT authorizer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.api.resolver import serve
from inboxfleet.observability import metered_lambda_entry


@metered_lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(event, context)
