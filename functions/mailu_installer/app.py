"""Mail-server Lambda: secure the VPS, install Mailu, configure mailboxes (typed actions)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.mailu.commands import parse_command
from inboxfleet.mailu.service import run
from inboxfleet.observability import logger, tracer


# clear_state: keys appended for one invocation must not stay on the next (warm) one.
# capture_response=False: results name tenants' mailboxes, which have no place in traces.
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    command = parse_command(event)
    logger.append_keys(action=command.action)
    return run(command)
