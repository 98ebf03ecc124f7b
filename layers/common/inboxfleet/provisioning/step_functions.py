"""The provisioning workflow started for real: Step Functions `StartExecution` (boto3, imported
on first use; the only module here that imports it).

The execution is named `<inbox id>-<attempt>`, so a start is idempotent: the same name and input
while it runs answers the running execution, and Step Functions refuses a name it has seen in
the last 90 days (`ExecutionAlreadyExists`, with other input or once the run has ended): that
too means this attempt was started already. Anything else raises, and the inbox stays `queued`
(`start_queued` records only the starts that succeeded; reconcile restarts the rest).

The input carries ids only: execution history keeps it, so nothing secret ever goes in.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from inboxfleet.provisioning.ports import StartRequest


class StepFunctionsStarter:
    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._client = client
        self._lock = threading.Lock()

    def _sfn(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                # A start is one short call made while a person (or a billing event) waits.
                config = Config(
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"max_attempts": 3, "mode": "standard"},
                )
                self._client = boto3.client("stepfunctions", config=config)
            return self._client

    def start(self, request: StartRequest) -> None:
        client = self._sfn()
        try:
            client.start_execution(
                stateMachineArn=self._arn,
                name=request.execution_name,
                input=json.dumps(_input(request)),
            )
        except client.exceptions.ExecutionAlreadyExists:
            return  # this attempt was started before: one attempt, one execution

    def status(self, execution_name: str) -> str | None:
        client = self._sfn()
        try:
            described = client.describe_execution(executionArn=self._execution(execution_name))
        except client.exceptions.ExecutionDoesNotExist:
            return None
        return str(described["status"])

    def stop(self, execution_name: str, cause: str) -> None:
        client = self._sfn()
        try:
            client.stop_execution(
                executionArn=self._execution(execution_name), error="RunStopped", cause=cause
            )
        except client.exceptions.ExecutionDoesNotExist:
            return

    def _execution(self, execution_name: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:", 1) + f":{execution_name}"


def _input(request: StartRequest) -> dict[str, str]:
    ids = {"tenant_id": str(request.tenant_id), "inbox_id": str(request.inbox_id)}
    if request.undo is None:
        return ids
    # The provisioning machine's compensation entry (its `Mode` choice).
    return ids | {"mode": "compensate", "execution": request.undo}
