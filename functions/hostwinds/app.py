"""Hostwinds Lambda: create, describe, find, reverse DNS and terminate servers (typed actions)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.hostwinds.commands import parse_command
from inboxfleet.hostwinds.runtime import deps
from inboxfleet.hostwinds.service import handle
from inboxfleet.observability import lambda_entry, logger


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    command = parse_command(event)
    logger.append_keys(action=command.action)
    return handle(command, deps()).model_dump(mode="json")
