"""Inventory Lambda: the provisioning workflow's database steps (typed actions)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.inventory.commands import parse_command
from inboxfleet.inventory.service import handle
from inboxfleet.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    command = parse_command(event)
    logger.append_keys(action=command.action, tenant_id=str(command.tenant_id))
    return handle(command)
