"""Step Functions' execution status-change events, which moto does not emit, put on EventBridge
as AWS puts them: while `status_change_events()` is entered, every execution moto's interpreter
ends is announced on the default bus (`source` aws.states, `detail-type` "Step Functions
Execution Status Change"), and moto's EventBridge matches it against the rules deployed from the
template and delivers it to their targets (an SQS queue). So a test of the failed-executions
rule exercises the template's own pattern and target.

The patch: `BaseExecutionWorkerCommunication.terminated`
(moto/stepfunctions/parser/backend/execution.py), which moto calls once an execution's program
has ended (succeeded, failed, timed out, or stopped) and which sets the execution's final status
(`_reflect_execution_status`); the announcement follows it. moto is pinned exactly for
internals like this one (requirements-dev.in).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from unittest import mock

from local.account import REGION

LOG = logging.getLogger(__name__)
SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"


def status_change(execution: Any) -> dict[str, Any]:
    """The event's `detail` as Step Functions sends it (times in epoch milliseconds; input and
    output as the JSON text the execution holds)."""
    output = getattr(execution, "output", None)
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.exec_status.value,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date),
        "input": json.dumps(execution.input_data),
        "output": None if output is None else json.dumps(output),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True},
        "error": execution.error,
        "cause": execution.cause,
    }


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def announce(execution: Any) -> None:
    """Put the execution's status change on the default event bus (moto's EventBridge)."""
    import boto3

    detail = status_change(execution)
    answer = boto3.client("events", region_name=REGION).put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Resources": [detail["executionArn"]],
                "Detail": json.dumps(detail),
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        LOG.error("status change of %s not announced: %s", detail["name"], answer["Entries"])


@contextmanager
def status_change_events() -> Iterator[None]:
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original(self)
        try:
            announce(self.execution)
        except Exception:  # an announcement lost must not break the execution's own end
            LOG.exception("status change of %s not announced", self.execution.name)

    with mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated):
        yield
