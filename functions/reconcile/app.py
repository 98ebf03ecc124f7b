"""Reconcile Lambda: one pass that finds where the database, Hostwinds, the workflows, billing and
the mail servers disagree and repairs it (EventBridge Scheduler, or invoked on demand)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inboxfleet.observability import metered_lambda_entry
from inboxfleet.reconcile.commands import parse_command
from inboxfleet.reconcile.runtime import deps
from inboxfleet.reconcile.service import handle


@metered_lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    command = parse_command(event)
    return handle(command, deps(), context.get_remaining_time_in_millis).model_dump(mode="json")
