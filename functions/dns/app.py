"""DNS Lambda: delegation check, publish, verify and delete a domain's records (typed actions)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.dns.commands import parse_command
from inboxfleet.dns.service import run
from inboxfleet.observability import lambda_entry, logger


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    command = parse_command(event)
    logger.append_keys(action=command.action)
    return run(command)
